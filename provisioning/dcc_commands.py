"""`checkpoint-provision dcc-keygen` and `dcc-issue`: a reference DCC issuer for tests and demos."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from provisioning.issuer import write_png
from scanner.cli.kit import CommandError, command, echo, parse_instant, parser, print_json
from scanner.formats.hc1.cose import PrivateKey
from scanner.formats.hc1.dsc import CertType, kid_of
from scanner.formats.hc1.issue import DocumentSigner, dcc_document, issue, new_key, self_signed_dsc
from scanner.formats.qrimage import qr_version, render_qr

DAY = 86400
_KINDS = {"vaccination": CertType.VACCINATION, "test": CertType.TEST, "recovery": CertType.RECOVERY}
_USAGE = {"v": CertType.VACCINATION, "t": CertType.TEST, "r": CertType.RECOVERY}


def _write_private(path: Path, key: PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(f"{path} exists; refusing to overwrite a private key") from None
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(pem)


def _load_signer(key_path: Path, cert_path: Path) -> DocumentSigner:
    try:
        if key_path.stat().st_mode & 0o077:
            raise CommandError(f"{key_path}: private key is readable by others; chmod 600")
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        der = cert_path.read_bytes()
    except (OSError, ValueError, TypeError) as exc:
        raise CommandError(f"cannot read the DSC key or certificate: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CommandError(f"{key_path}: not an EC or RSA key")
    return DocumentSigner(key, der)


@command
def main_keygen(argv: list[str]) -> int:
    """Run `checkpoint-provision dcc-keygen`: a DSC key and self-signed DSC."""
    p = parser(
        "checkpoint-provision dcc-keygen",
        "Create a DSC key (ES256 or PS256) and a self-signed DSC for test and demo DCCs.",
    )
    p.add_argument(
        "--algorithm", choices=["ES256", "PS256"], default="ES256", help="the DSC key type"
    )
    p.add_argument("--country", default="VN", help="the DSC's country")
    p.add_argument(
        "--usage",
        default="",
        help="certificate types it may sign, letters of v, t, r (default: no restriction)",
    )
    p.add_argument("--not-before", help="default: now")
    p.add_argument("--not-after", help="default: two years after --not-before")
    p.add_argument("--out", required=True, type=Path, help="writes OUT.key (0600) and OUT.der")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if any(c not in _USAGE for c in args.usage):
        raise CommandError("--usage takes letters of v, t and r")
    start = parse_instant(args.not_before) if args.not_before else int(time.time())
    end = parse_instant(args.not_after) if args.not_after else start + 730 * DAY
    key_path = args.out.with_name(args.out.name + ".key")
    der_path = args.out.with_name(args.out.name + ".der")
    if der_path.exists():
        raise CommandError(f"{der_path} exists; refusing to replace a published DSC")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    key = new_key(args.algorithm)
    usage = [_USAGE[c] for c in args.usage]
    signer = self_signed_dsc(
        key, country=args.country, not_before=start, not_after=end, usage=usage
    )
    _write_private(key_path, key)
    der_path.write_bytes(signer.der)
    kid = kid_of(signer.der).hex()
    if args.json:
        print_json(
            {"kid": kid, "algorithm": args.algorithm, "key": str(key_path), "der": str(der_path)}
        )
    else:
        echo(f"DSC {kid} ({args.algorithm}): {key_path} (keep secret, mode 0600), {der_path}")
    return 0


def _event(kind: CertType, args: Any) -> dict[str, Any]:
    if kind is CertType.VACCINATION:
        return {
            "vp": "J07BX03",
            "mp": args.product,
            "ma": "ORG-100030215",
            "dn": args.dose,
            "sd": args.doses,
            "dt": args.date,
        }
    if kind is CertType.TEST:
        return {
            "tt": args.test_type,
            "sc": args.date + ("" if "T" in args.date else "T08:00:00Z"),
            "tr": "260415000",  # not detected
            "tc": "Checkpoint reference test centre",
        }
    return {"fr": args.date, "df": args.valid_from or args.date, "du": args.valid_until}


@command
def main_issue(argv: list[str]) -> int:
    """Run `checkpoint-provision dcc-issue`: a signed DCC as HC1 text and a PNG."""
    p = parser("checkpoint-provision dcc-issue", "Issue a signed EU DCC as HC1 text and a PNG.")
    p.add_argument("--dsc-key", required=True, type=Path, help="the DSC private key")
    p.add_argument("--dsc-cert", required=True, type=Path, help="the DSC as DER (for its kid)")
    p.add_argument(
        "--kind", choices=sorted(_KINDS), default="vaccination", help="which certificate"
    )
    p.add_argument("--family-name", required=True, help="as in the passport")
    p.add_argument("--given-name", required=True, help="as in the passport")
    p.add_argument("--family-name-latin", help="ICAO 9303 form (default: upper case of the name)")
    p.add_argument("--given-name-latin", help="ICAO 9303 form (default: upper case)")
    p.add_argument("--dob", required=True, help="YYYY, YYYY-MM or YYYY-MM-DD")
    p.add_argument("--country", default="VN", help="issuing country (iss and co)")
    p.add_argument("--ci", help="certificate identifier (default: a fresh URN:UVCI)")
    p.add_argument(
        "--date", required=True, help="vaccination date, test sample time, or first positive"
    )
    p.add_argument("--dose", type=int, default=2, help="vaccination: this dose number")
    p.add_argument("--doses", type=int, default=2, help="vaccination: doses in the series")
    p.add_argument("--product", default="EU/1/20/1528", help="vaccination: the product code")
    p.add_argument("--test-type", default="LP6464-4", help="LP6464-4 NAAT, LP217198-3 RAT")
    p.add_argument("--valid-from", help="recovery: start of validity")
    p.add_argument("--valid-until", help="recovery: end of validity (default: --expires's date)")
    p.add_argument("--issued-at", help="default: now")
    p.add_argument("--expires", help="default: 365 days after --issued-at")
    p.add_argument("--out", required=True, type=Path, help="writes OUT.txt and OUT.png")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    kind = _KINDS[args.kind]
    issued = parse_instant(args.issued_at) if args.issued_at else int(time.time())
    expires = parse_instant(args.expires) if args.expires else issued + 365 * DAY
    if args.valid_until is None:
        args.valid_until = time.strftime("%Y-%m-%d", time.gmtime(expires))
    ci = args.ci or f"URN:UVCI:01:{args.country}:{uuid.uuid4().hex[:20].upper()}"
    dcc = dcc_document(
        kind,
        family_name=args.family_name,
        given_name=args.given_name,
        family_name_latin=args.family_name_latin or args.family_name.upper().replace(" ", "<"),
        given_name_latin=args.given_name_latin or args.given_name.upper().replace(" ", "<"),
        date_of_birth=args.dob,
        country=args.country,
        ci=ci,
        event=_event(kind, args),
    )
    signer = _load_signer(args.dsc_key, args.dsc_cert)
    text = issue(signer, dcc, issuer=args.country, issued_at=issued, expires_at=expires)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    txt = args.out.with_name(args.out.name + ".txt")
    png = args.out.with_name(args.out.name + ".png")
    txt.write_text(text + "\n", encoding="ascii")
    write_png(png, render_qr(text))
    if args.json:
        print_json(
            {"text": str(txt), "png": str(png), "chars": len(text), "qr_version": qr_version(text)}
        )
    else:
        echo(f"{args.kind} DCC: {txt} ({len(text)} chars, QR {qr_version(text)}), {png}")
    return 0
