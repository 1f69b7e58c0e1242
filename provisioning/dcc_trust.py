"""`checkpoint-provision dcc-signers` and `dcc-rules`: the unit's EU DCC trust objects.

`dcc-signers` reads the DCC Gateway's trust list (a JSON array of entries with `kid`,
`country`, `certificateType`, `thumbprint`, `timestamp`, `signature` and `rawData`, the
DSC as base64 DER) and single DER files, and signs a DSC list with the dcc role key.
The gateway's own CMS signatures are checked by the national backend that fetched the list
over its mutual-TLS session; here each entry's thumbprint must match its certificate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from scanner.cli.kit import CommandError, command, echo, parse_instant, parser, print_json
from scanner.errors import KeyFileError
from scanner.formats.hc1.dsc import KID_LENGTH, DscError, Signer, load_der
from scanner.formats.hc1.rules import RuleError
from scanner.trust.dcc_rules import encode_rules, value_sets_from_gateway
from scanner.trust.dcc_signers import encode_signers
from scanner.trust.keys import load_private_key

DAY = 86400


def _dcc_key(path: Path) -> SigningKey:
    try:
        return load_private_key(path)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path}: not readable JSON ({exc})") from None


def gateway_signers(entries: Any, source: str) -> tuple[list[Signer], list[str]]:
    """The DSC entries of a gateway trust list, and a line for each entry skipped."""
    if isinstance(entries, dict):
        entries = entries.get("certificates", entries.get("trustList"))
    if not isinstance(entries, list):
        raise CommandError(f"{source}: a trust list is a JSON array of entries")
    signers: list[Signer] = []
    skipped: list[str] = []
    for n, entry in enumerate(entries):
        where = f"{source}[{n}]"
        if not isinstance(entry, dict) or entry.get("certificateType", "DSC") != "DSC":
            continue  # CSCA, UPLOAD and AUTHENTICATION entries sign nothing a unit reads
        try:
            der = base64.b64decode(str(entry["rawData"]), validate=True)
            kid = base64.b64decode(str(entry["kid"]), validate=True)
        except (KeyError, binascii.Error):
            skipped.append(f"{where}: rawData or kid is not base64")
            continue
        thumbprint = entry.get("thumbprint")
        if isinstance(thumbprint, str) and thumbprint.lower() != hashlib.sha256(der).hexdigest():
            skipped.append(f"{where}: thumbprint does not match the certificate")
            continue
        if len(kid) != KID_LENGTH:
            skipped.append(f"{where}: kid is not {KID_LENGTH} bytes")
            continue
        country = entry.get("country")
        try:
            signers.append(
                load_der(der, kid=kid, country=country if isinstance(country, str) else None)
            )
        except DscError as exc:
            skipped.append(f"{where}: {exc}")
    return signers, skipped


@command
def main_signers(argv: list[str]) -> int:
    """Run `checkpoint-provision dcc-signers`: sign the DSC list."""
    p = parser(
        "checkpoint-provision dcc-signers",
        "Sign the DSC list (EU DCC signer certificates) with the dcc role key.",
    )
    p.add_argument("--dcc-key", required=True, type=Path, help="the DCC trust signing key")
    p.add_argument("--version", required=True, type=int, help="above every list units hold")
    p.add_argument(
        "--gateway-trust-list",
        type=Path,
        action="append",
        default=[],
        help="a gateway trust list file (repeatable)",
    )
    p.add_argument("--certificate", type=Path, action="append", default=[], help="a DSC as DER")
    p.add_argument("--issued-at", help="default: now")
    p.add_argument("--expires", help="default: 30 days after --issued-at")
    p.add_argument(
        "--stale-after-days", type=float, default=7.0, help="age at which units show degraded"
    )
    p.add_argument("--out", required=True, type=Path, help="the file to write")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if args.version < 1:
        raise CommandError("--version must be at least 1")
    signers: list[Signer] = []
    skipped: list[str] = []
    for path in args.gateway_trust_list:
        found, dropped = gateway_signers(_json(path), str(path))
        signers += found
        skipped += dropped
    for path in args.certificate:
        try:
            signers.append(load_der(path.read_bytes()))
        except (OSError, DscError) as exc:
            raise CommandError(f"{path}: {exc}") from None
    if not signers:
        raise CommandError("no DSC given: use --gateway-trust-list or --certificate")
    issued = parse_instant(args.issued_at) if args.issued_at else int(time.time())
    expires = parse_instant(args.expires) if args.expires else issued + 30 * DAY
    if expires <= issued:
        raise CommandError("--expires must be later than --issued-at")
    data = encode_signers(
        _dcc_key(args.dcc_key),
        version=args.version,
        issued_at=issued,
        expires_at=expires,
        signers=signers,
        stale_after=int(args.stale_after_days * DAY),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    summary = {
        "version": args.version,
        "signers": len(signers),
        "countries": sorted({s.country for s in signers}),
        "skipped": skipped,
        "bytes": len(data),
        "out": str(args.out),
    }
    if args.json:
        print_json(summary)
    else:
        for line in skipped:
            echo(f"skipped {line}")
        echo(f"DSC list v{args.version}: {len(signers)} DSCs, {args.out}")
    return 0


def _rules_from(path: Path) -> list[Any]:
    """A rule file, a JSON array of rules, or a directory of `<rule id>/rule.json`."""
    if path.is_dir():
        return [_json(p) for p in sorted(path.rglob("rule.json"))]
    doc = _json(path)
    return doc if isinstance(doc, list) else [doc]


def _value_sets(path: Path | None) -> dict[str, list[str]]:
    if path is None:
        return {}
    doc = _json(path)
    if isinstance(doc, list):  # the gateway's value set documents
        return value_sets_from_gateway(d for d in doc if isinstance(d, dict))
    if isinstance(doc, dict) and all(isinstance(v, list) for v in doc.values()):
        return {str(k): [str(c) for c in v] for k, v in doc.items()}  # already id -> codes
    raise CommandError(f"{path}: value sets are gateway documents or a map of id -> codes")


@command
def main_rules(argv: list[str]) -> int:
    """Run `checkpoint-provision dcc-rules`: sign the entry rules."""
    p = parser(
        "checkpoint-provision dcc-rules",
        "Sign the checkpoint's entry rules (DCC Gateway format) with the dcc role key.",
    )
    p.add_argument("--dcc-key", required=True, type=Path, help="the DCC trust signing key")
    p.add_argument("--version", required=True, type=int, help="version; units refuse a lower one")
    p.add_argument("--country", required=True, help="country of arrival, e.g. VN")
    p.add_argument("--rules", type=Path, action="append", required=True, help="file or directory")
    p.add_argument("--value-sets", type=Path, help="the EU value sets file")
    p.add_argument("--issued-at", help="default: now")
    p.add_argument("--expires", help="default: 30 days after --issued-at")
    p.add_argument("--out", required=True, type=Path, help="the file to write")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if args.version < 1:
        raise CommandError("--version must be at least 1")
    rules = [r for path in args.rules for r in _rules_from(path)]
    issued = parse_instant(args.issued_at) if args.issued_at else int(time.time())
    expires = parse_instant(args.expires) if args.expires else issued + 30 * DAY
    try:
        data = encode_rules(
            _dcc_key(args.dcc_key),
            version=args.version,
            issued_at=issued,
            expires_at=expires,
            country=args.country,
            rules=rules,
            value_sets=_value_sets(args.value_sets),
        )
    except RuleError as exc:
        raise CommandError(f"a rule cannot be evaluated by units: {exc}") from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    summary = {
        "version": args.version,
        "rules": len(rules),
        "bytes": len(data),
        "out": str(args.out),
    }
    print_json(summary) if args.json else echo(
        f"rule set v{args.version}: {len(rules)} rules, {args.out}"
    )
    return 0
