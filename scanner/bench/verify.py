"""`bench verify`: full pass verification against a bare PyNaCl Ed25519 verify of the same bytes."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nacl.signing import SigningKey

from scanner.bench.targets import Target, judged, lines
from scanner.cli.kit import command, echo, parser, print_json
from scanner.decide.verify import Verifier, verify_text
from scanner.demo.samples import sample_info
from scanner.formats.cose import parse_sign1, sign1
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import encode_claims
from scanner.model import ClockState, Holder
from scanner.trust.bundle import IssuerKey, encode_bundle, parse_bundle
from scanner.trust.clock import TrustedClock
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

NOW = 1_764_547_200  # 2025-12-01: inside the sample pass's validity


def typical_pass(issuer: SigningKey) -> bytes:
    """A signed pass of typical size, as QR text bytes."""
    info = sample_info(NOW, pass_id="P-000123456", holder=Holder("NGUYỄN VĂN AN", "6789"))
    return qrtext.wrap(sign1(encode_claims(info), issuer)).encode()


def _per_call_us(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


@command
def main(argv: list[str]) -> int:
    """Run `bench verify`: full verification beside a bare Ed25519 verify."""
    p = parser("checkpoint-scanner bench verify", __doc__ or "")
    p.add_argument("--rounds", type=int, default=30, help="timed rounds (the median is reported)")
    p.add_argument("--calls", type=int, default=300, help="verifications per round")
    p.add_argument("--revoked", type=int, default=100_000, help="revoked IDs in the set")
    p.add_argument("--format", choices=("cp1", "hc1"), default="cp1", help="credential format")
    p.add_argument(
        "--rules",
        type=Path,
        help="hc1: a country's rule directory (*/rule.json), or a directory of countries"
        " (the one with the most rules is taken); default: the EU business-rules test data"
        " in ../shared/vectors when it is there",
    )
    p.add_argument(
        "--value-sets",
        type=Path,
        help="hc1: value sets for the rules (id -> codes); default: valuesets/valueSets.json"
        " beside the rules",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if args.format == "hc1":
        from scanner.bench.verify_hc1 import run  # noqa: PLC0415 - cryptography, HC1 only

        figures = run(args.rounds, max(1, args.calls // 3), args.rules, args.value_sets)
        if args.json:
            print_json(figures)
        else:
            echo(json.dumps({k: v for k, v in figures.items() if k != "targets"}, indent=1))
            echo("\n".join(lines(figures)))
        return 0
    root, issuer, revocation = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    bundle = parse_bundle(
        encode_bundle(
            root,
            version=1,
            issued_at=NOW - 86400,
            expires_at=NOW + 365 * 86400,
            issuers=[IssuerKey(issuer.verify_key, 0, NOW + 365 * 86400)],
            revocation_key=revocation.verify_key,
        ),
        root.verify_key,
    )
    revoked = RevocationSet.from_ids(f"R-{i:09d}" for i in range(args.revoked))
    trust = TrustSnapshot(bundle, revoked, 1)
    text = typical_pass(issuer)
    envelope = parse_sign1(qrtext.unwrap(text))
    signed, signature, key = envelope.to_be_signed(), envelope.signature, issuer.verify_key
    assert verify_text(text, trust, NOW, ClockState.SYNCED).accepted

    def full() -> object:
        return verify_text(text, trust, NOW, ClockState.SYNCED)

    def bare() -> object:
        return key.verify(signed, signature)

    with tempfile.TemporaryDirectory() as tmp:
        # As the daemon calls it: the trusted clock (a stat of the NTP flag, the floor
        # update) around the same verification.
        clock = TrustedClock(Path(tmp) / "clock-floor", synced=Path(tmp).exists, wall=lambda: NOW)
        daemon = Verifier(lambda: trust, clock)
        full_us, bare_us, daemon_us = [], [], []
        for _ in range(args.rounds):  # interleaved: load on a shared machine hits all alike
            full_us.append(_per_call_us(full, args.calls))
            bare_us.append(_per_call_us(bare, args.calls))
            daemon_us.append(_per_call_us(lambda: daemon.verify(text), args.calls))
    result = {
        "pass_verify_us": round(statistics.median(full_us), 2),
        "bare_ed25519_us": round(statistics.median(bare_us), 2),
        "ratio": round(statistics.median(full_us) / statistics.median(bare_us), 3),
        "with_clock_us": round(statistics.median(daemon_us), 2),
        "with_clock_ratio": round(statistics.median(daemon_us) / statistics.median(bare_us), 3),
        "target_ratio": 2.5,
        "qr_chars": len(text),
        "revoked_entries": len(revoked),
        "rounds": args.rounds,
        "calls_per_round": args.calls,
    }
    result = judged(result, [Target("ratio", "<=", 2.5)])
    if args.json:
        print_json(result)
    else:
        for name, value in result.items():
            if name not in ("targets", "targets_met"):
                echo(f"{name:>18}: {value}")
        echo("\n".join(lines(result)))
    return 0
