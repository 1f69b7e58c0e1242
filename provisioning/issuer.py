"""The reference issuer: passes, trust bundles and revocations, signed with the scanner's codec."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
from nacl.signing import SigningKey

from scanner.cli.kit import CommandError, command, echo, parse_instant, parser, print_json
from scanner.errors import ClaimsError, KeyFileError
from scanner.formats.cose import sign1
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import encode_claims
from scanner.formats.qrimage import qr_version, render_qr
from scanner.model import Holder, PassInfo, PassKind
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.keys import load_private_key, load_public_key
from scanner.trust.revocation_update import encode_update


def issue_pass(issuer: SigningKey, info: PassInfo) -> str:
    """Sign a pass and return its QR text."""
    return qrtext.wrap(sign1(encode_claims(info), issuer))


def write_png(path: Path, image: np.ndarray) -> None:
    """Write `image` as a PNG, or raise CommandError."""
    if not cv2.imwrite(str(path), image):
        raise CommandError(f"cannot write {path}")


def _signing_key(path: Path) -> SigningKey:
    try:
        return load_private_key(path)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None


@command
def main_issue(argv: list[str]) -> int:
    """Run `checkpoint-provision issue`: a signed pass as QR text and a PNG."""
    p = parser("checkpoint-provision issue", "Issue a signed pass as QR text and a PNG.")
    p.add_argument("--issuer-key", required=True, type=Path, help="the issuer's private key")
    p.add_argument("--pass-id", required=True, help="the pass ID (cti), unique per pass")
    p.add_argument("--holder", required=True, help="display name as on the citizen ID card")
    p.add_argument("--id-last4", default="0000", help="last digits of the ID number, never all")
    p.add_argument(
        "--kind",
        choices=[k.name.lower() for k in PassKind],
        default="travel",
        help="test: a technician's test card, never logged as a scan",
    )
    p.add_argument("--issuer-name", default="VN-CP", help="iss claim; short: it is in every QR")
    p.add_argument("--not-before", required=True, help="first valid instant, ISO 8601 with a zone")
    p.add_argument("--not-after", required=True, help="last valid instant, ISO 8601 with a zone")
    p.add_argument("--issued-at", help="the signing instant, ISO 8601 (default: now)")
    p.add_argument(
        "--out", required=True, type=Path, help="path prefix: writes OUT.txt and OUT.png"
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if not (args.id_last4.isdigit() and len(args.id_last4) <= 6):
        raise CommandError("--id-last4 takes at most 6 digits: never the full ID number")
    info = PassInfo(
        pass_id=args.pass_id,
        issuer=args.issuer_name,
        kid=b"",
        kind=PassKind[args.kind.upper()],
        holder=Holder(name=args.holder, id_last4=args.id_last4),
        issued_at=parse_instant(args.issued_at) if args.issued_at else int(time.time()),
        not_before=parse_instant(args.not_before),
        expires_at=parse_instant(args.not_after),
    )
    if info.expires_at <= info.not_before:
        raise CommandError("--not-after must be later than --not-before")
    try:
        text = issue_pass(_signing_key(args.issuer_key), info)
    except ClaimsError as exc:
        raise CommandError(str(exc)) from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    txt, png = (
        args.out.with_name(args.out.name + ".txt"),
        args.out.with_name(args.out.name + ".png"),
    )
    txt.write_text(text + "\n", encoding="ascii")
    write_png(png, render_qr(text))
    if args.json:
        print_json(
            {
                "pass_id": info.pass_id,
                "text": str(txt),
                "png": str(png),
                "chars": len(text),
                "qr_version": qr_version(text),
                "ec_level": "Q",
            }
        )
    else:
        echo(f"pass {info.pass_id}: {txt} ({len(text)} chars, QR {qr_version(text)}-Q), {png}")
    return 0


@command
def main_trust_bundle(argv: list[str]) -> int:
    """Run `checkpoint-provision trust-bundle`: build and sign a trust bundle."""
    p = parser(
        "checkpoint-provision trust-bundle", "Build and sign a trust bundle with the root key."
    )
    p.add_argument("--root-key", required=True, type=Path, help="the root private key")
    p.add_argument(
        "--issuer-pub",
        required=True,
        type=Path,
        action="append",
        help="an issuer key that signs passes (repeatable)",
    )
    p.add_argument(
        "--retired-issuer-pub",
        type=Path,
        action="append",
        default=[],
        help="an issuer key listed as revoked: its passes fail key_not_valid",
    )
    p.add_argument(
        "--issuer-not-before",
        default="1970-01-01T00:00:00Z",
        help="passes signed before this are key_not_valid",
    )
    p.add_argument(
        "--issuer-not-after", help="passes signed after this are key_not_valid (default: --expires)"
    )
    p.add_argument(
        "--revocation-pub", required=True, type=Path, help="the key that signs revocation updates"
    )
    p.add_argument("--ops-pub", type=Path, help="the key that signs commands to units")
    p.add_argument("--dcc-pub", type=Path, help="the key that signs the EU DCC DSC list and rules")
    p.add_argument(
        "--version", required=True, type=int, help="bundle version; units refuse a lower one"
    )
    p.add_argument("--issued-at", help="the signing instant, ISO 8601 (default: now)")
    p.add_argument("--expires", required=True, help="bundle expiry, ISO 8601; then it fails closed")
    p.add_argument(
        "--stale-after-days", type=float, default=7.0, help="age at which units show degraded"
    )
    p.add_argument("--out", required=True, type=Path, help="the file to write")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if args.version < 1:
        raise CommandError("--version must be at least 1")
    expires = parse_instant(args.expires)
    issued = parse_instant(args.issued_at) if args.issued_at else int(time.time())
    window = (
        parse_instant(args.issuer_not_before),
        parse_instant(args.issuer_not_after) if args.issuer_not_after else expires,
    )
    try:
        issuers = [IssuerKey(load_public_key(path), *window) for path in args.issuer_pub]
        issuers += [
            IssuerKey(load_public_key(path), *window, revoked=True)
            for path in args.retired_issuer_pub
        ]
        revocation = load_public_key(args.revocation_pub)
        ops = load_public_key(args.ops_pub) if args.ops_pub else None
        dcc = load_public_key(args.dcc_pub) if args.dcc_pub else None
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None
    data = encode_bundle(
        _signing_key(args.root_key),
        version=args.version,
        issued_at=issued,
        expires_at=expires,
        issuers=issuers,
        revocation_key=revocation,
        ops_key=ops,
        stale_after=int(args.stale_after_days * 86400),
        dcc_key=dcc,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    summary = {
        "version": args.version,
        "issuers": [i.kid.hex() for i in issuers],
        "bytes": len(data),
        "out": str(args.out),
    }
    print_json(summary) if args.json else echo(f"trust bundle v{args.version}: {args.out}")
    return 0


@command
def main_revoke(argv: list[str]) -> int:
    """Run `checkpoint-provision revoke`: sign a revocation update."""
    p = parser("checkpoint-provision revoke", "Sign a revocation update (a delta by default).")
    p.add_argument("--revocation-key", required=True, type=Path, help="the revocation private key")
    p.add_argument(
        "--serial", required=True, type=int, help="update number, one more than the last"
    )
    p.add_argument("--pass-id", action="append", default=[], help="revoke this pass (repeatable)")
    p.add_argument("--unrevoke", action="append", default=[], help="lift a revocation (repeatable)")
    p.add_argument("--ids-file", type=Path, help="one pass ID a line, added to --pass-id")
    p.add_argument(
        "--snapshot", action="store_true", help="the full list, replacing what devices have"
    )
    p.add_argument("--issued-at", help="the signing instant, ISO 8601 (default: now)")
    p.add_argument("--out", required=True, type=Path, help="the file to write")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if args.serial < 1:
        raise CommandError("--serial must be at least 1")
    added = list(args.pass_id)
    if args.ids_file:
        added += [line.strip() for line in args.ids_file.read_text().splitlines() if line.strip()]
    try:
        data = encode_update(
            _signing_key(args.revocation_key),
            serial=args.serial,
            issued_at=parse_instant(args.issued_at) if args.issued_at else int(time.time()),
            added=added,
            removed=list(args.unrevoke),
            snapshot=args.snapshot,
        )
    except (ClaimsError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    summary = {
        "serial": args.serial,
        "added": len(added),
        "removed": len(args.unrevoke),
        "snapshot": args.snapshot,
        "out": str(args.out),
    }
    print_json(summary) if args.json else echo(f"revocation update {args.serial}: {args.out}")
    return 0
