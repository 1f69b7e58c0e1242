"""`bench verify --format hc1`: a full EU DCC verification beside a bare `cryptography` verify.

For ES256 and PS256 alike: the same DCC, the same signature bytes, interleaved rounds so
that load on a shared machine hits both alike; wall and CPU time per call (CPU time moves
less with other work on the machine). Also: one country's whole rule set evaluated for a
certificate (by default the country with the most rules in the EU business-rules test data,
every rule in force evaluated as for a certificate that passes them all), and a DSC list
of 10,000 entries loaded (signature check included). Every figure is judged against its
target in the output.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from nacl.signing import SigningKey

from scanner.bench.targets import Target, judged
from scanner.cli.kit import CommandError
from scanner.decide.hc1 import verify_hc1
from scanner.demo.dcc_samples import COMPLETE_SERIES
from scanner.formats.hc1 import claims as claims_mod
from scanner.formats.hc1 import cose, qrtext, schema
from scanner.formats.hc1 import inspect as inspection
from scanner.formats.hc1.dsc import CertType, Signer, load_der
from scanner.formats.hc1.issue import DocumentSigner, dcc_document, issue, new_key, self_signed_dsc
from scanner.formats.hc1.rules import (
    Rule,
    evaluate_rule,
    external_parameters,
    first_failure,
    in_force,
    parse_rule,
)
from scanner.model import ClockState
from scanner.trust.dcc_signers import encode_signers, parse_signers
from scanner.trust.dcc_store import DccTrust
from scanner.trust.revocation_set import RevocationSet

NOW = 1_780_000_000
DAY = 86400
TARGET_RATIO = 1.5
TARGET_RULES_MS = 1.0
TARGET_LOAD_S = 1.0
# The EU business-rules test data beside the repository (as `make test` finds it): a
# directory of countries, each a directory of rules (*/rule.json), and valuesets/.
DEFAULT_RULES = Path("../shared/vectors/dgc-business-rules-testdata")
TARGETS = [
    Target("es256.ratio", "<=", TARGET_RATIO),
    Target("ps256.ratio", "<=", TARGET_RATIO),
    Target("rules.rule_set_ms", "<", TARGET_RULES_MS),
    Target("dsc_list.load_s", "<", TARGET_LOAD_S),
]


def _per_call_us(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """Wall and CPU time per call, in microseconds."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return (
        (time.perf_counter() - start) / calls * 1e6,
        (time.process_time() - cpu) / calls * 1e6,
    )


def _dcc(ci: str) -> dict[str, Any]:
    return dcc_document(
        CertType.VACCINATION,
        family_name="Nguyễn",
        given_name="Văn An",
        family_name_latin="NGUYEN",
        given_name_latin="VAN<AN",
        date_of_birth="1990-04-01",
        country="VN",
        ci=ci,
        event={
            "vp": "J07BX03",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": 3,
            "sd": 3,
            "dt": "2026-03-10",
        },
    )


def _bare(signer: DocumentSigner, text: bytes) -> Callable[[], object]:
    """The signature check alone, on the bytes the full path verifies."""
    found = inspection.inspect(text, lambda _kid: (load_der(signer.der),), NOW)
    envelope = found.envelope
    assert envelope is not None, "the bench DCC parses"
    assert found.signer is not None, "and its DSC is listed"
    message, signature, key = envelope.to_be_signed(), envelope.signature, found.signer.key
    if isinstance(key, ec.EllipticCurvePublicKey):
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        return lambda: key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    assert key is not None
    return lambda: key.verify(signature, message, pss, hashes.SHA256())


def _country(directory: Path) -> Path:
    """`directory` when it holds rules itself, else its country with the most rules."""
    if any(directory.glob("*/rule.json")):
        return directory
    countries = [d for d in directory.iterdir() if d.is_dir() and any(d.glob("*/rule.json"))]
    if not countries:
        raise CommandError(f"{directory}: no */rule.json, nor countries holding them")
    return max(countries, key=lambda d: (len(list(d.glob("*/rule.json"))), d.name))


def _pipelines(
    text: bytes, dcc: DccTrust, revoked: RevocationSet
) -> dict[str, Callable[[], object]]:
    """The HC1 check cut after each stage, as `inspect` and `verify_hc1` run it.

    The time of one minus the time of the one before is what that stage adds where it runs:
    its share of cache misses and allocation included, which a stage timed alone does not pay.
    """
    signers = dcc.signers
    assert signers is not None

    def prefix() -> object:
        return qrtext.unprefix(text)

    def base45() -> object:
        return qrtext.debase45(qrtext.unprefix(text))

    def zlib() -> object:
        return qrtext.inflate(qrtext.debase45(qrtext.unprefix(text)))

    def cose_cbor() -> object:
        return cose.parse(qrtext.inflate(qrtext.debase45(qrtext.unprefix(text))))

    def claims() -> object:
        envelope = cose.parse(qrtext.inflate(qrtext.debase45(qrtext.unprefix(text))))
        return claims_mod.decode(envelope.claims)

    def schema_check() -> object:
        envelope = cose.parse(qrtext.inflate(qrtext.debase45(qrtext.unprefix(text))))
        return schema.problems(claims_mod.decode(envelope.claims).dcc)

    def signature() -> object:
        envelope = cose.parse(qrtext.inflate(qrtext.debase45(qrtext.unprefix(text))))
        schema.problems(claims_mod.decode(envelope.claims).dcc)
        assert envelope.kid is not None
        signer = signers.lookup(envelope.kid)[0]
        return signer.verify(envelope.alg, envelope.to_be_signed(), envelope.signature)

    def inspect() -> object:
        return inspection.inspect(text, signers.lookup, NOW)

    def verdict() -> object:
        return verify_hc1(text, dcc, revoked, NOW, ClockState.SYNCED)

    return {
        "prefix": prefix,
        "base45": base45,
        "zlib": zlib,
        "cose_and_cbor": cose_cbor,
        "claims": claims,
        "schema": schema_check,
        "signature": signature,
        "inspection_record": inspect,  # the record's bookkeeping: time, DSC, key usage
        "verdict": verdict,  # pass info, display summary, pass ID, refusals, revocation
    }


def _stage_figures(
    pipelines: dict[str, Callable[[], object]], bare: Callable[[], object], rounds: int, calls: int
) -> dict[str, Any]:
    """CPU microseconds each stage adds, in order; the signature's beside the bare verify."""
    cpu: dict[str, list[float]] = {name: [] for name in [*pipelines, "bare"]}
    for _ in range(rounds):
        for name, fn in [*pipelines.items(), ("bare", bare)]:
            cpu[name].append(_per_call_us(fn, calls)[1])
    best = {name: min(times) for name, times in cpu.items()}  # least disturbed by others
    out: dict[str, Any] = {}
    before = 0.0
    for name in pipelines:
        out[name] = round(best[name] - before, 1)
        before = best[name]
    out["total"] = round(best["verdict"], 1)
    out["bare_signature"] = round(best["bare"], 1)
    out["signature_beyond_bare"] = round(out["signature"] - best["bare"], 1)
    out["beyond_bare"] = round(best["verdict"] - best["bare"], 1)
    return out


def _rules(directory: Path | None) -> tuple[str, list[Any]]:
    """Where the rules came from, and the rules."""
    if directory is None and DEFAULT_RULES.is_dir():
        directory = DEFAULT_RULES
    if directory is None:
        return "demo (one rule: the test data is not beside the repository)", [COMPLETE_SERIES]
    country = _country(directory)
    found = [json.loads(p.read_text()) for p in sorted(country.glob("*/rule.json"))]
    return str(country), found


def _value_sets(value_sets: Path | None, rules_dir: Path | None) -> dict[str, Any]:
    if value_sets is None:
        root = rules_dir if rules_dir is not None else DEFAULT_RULES
        candidate = root / "valuesets" / "valueSets.json"
        if not candidate.is_file():
            candidate = root.parent / "valuesets" / "valueSets.json"
        value_sets = candidate if candidate.is_file() else None
    if value_sets is None:
        return {}
    sets: dict[str, Any] = json.loads(value_sets.read_text())
    return sets


def run(rounds: int, calls: int, rules_dir: Path | None, value_sets: Path | None) -> dict[str, Any]:
    """Every figure of the HC1 bench."""
    result: dict[str, Any] = {}
    for algorithm in ("ES256", "PS256"):
        signer = self_signed_dsc(
            new_key(algorithm), country="VN", not_before=NOW - 365 * DAY, not_after=NOW + 365 * DAY
        )
        signers = encode_signers(
            SigningKey(b"\x01" * 32),
            version=1,
            issued_at=NOW - DAY,
            expires_at=NOW + 30 * DAY,
            signers=[load_der(signer.der)],
        )
        dcc = DccTrust(signers=parse_signers(signers, SigningKey(b"\x01" * 32).verify_key))
        text = issue(
            signer, _dcc("URN:UVCI:01:VN:BENCH#1"), issuer="VN", issued_at=NOW - DAY,
            expires_at=NOW + 300 * DAY,
        ).encode()  # fmt: skip
        revoked = RevocationSet.from_ids(f"{i:032x}" for i in range(100_000))
        assert verify_hc1(text, dcc, revoked, NOW, ClockState.SYNCED).accepted

        def full(
            text: bytes = text, dcc: DccTrust = dcc, revoked: RevocationSet = revoked
        ) -> object:
            return verify_hc1(text, dcc, revoked, NOW, ClockState.SYNCED)

        bare = _bare(signer, text)
        full_us, bare_us, full_cpu, bare_cpu = [], [], [], []
        for _ in range(rounds):
            wall, cpu = _per_call_us(full, calls)
            full_us.append(wall)
            full_cpu.append(cpu)
            wall, cpu = _per_call_us(bare, calls)
            bare_us.append(wall)
            bare_cpu.append(cpu)
        f, b = statistics.median(full_us), statistics.median(bare_us)
        fc, bc = statistics.median(full_cpu), statistics.median(bare_cpu)
        result[algorithm.lower()] = {
            "hc1_verify_us": round(f, 1),
            "bare_cryptography_us": round(b, 1),
            "ratio": round(f / b, 3),
            "hc1_verify_cpu_us": round(fc, 1),
            "bare_cryptography_cpu_us": round(bc, 1),
            "cpu_ratio": round(fc / bc, 3) if bc else None,
            "target_ratio": TARGET_RATIO,
            "qr_chars": len(text),
            "stages_cpu_us": _stage_figures(
                _pipelines(text, dcc, revoked), bare, max(3, rounds // 2), calls
            ),
        }
    result["rules"] = _rule_figures(rules_dir, value_sets, rounds)
    result["dsc_list"] = _load_figures()
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    return judged(result, TARGETS)


def _every_rule(
    rules: list[Rule], payload: dict[str, Any], sets: dict[str, Any], now: int
) -> list[bool]:
    """What the verifier does for a DCC's rules, without stopping at a failure.

    That is the cost of a certificate that passes them all: rules in force, external
    parameters, each rule.
    """
    chosen = in_force(rules, datetime.fromtimestamp(now, UTC), CertType.VACCINATION)
    external = external_parameters(
        now, country="VN", value_sets=sets, issued_at=now - DAY, expires_at=now + 300 * DAY,
        issuer_country="VN",
    )  # fmt: skip
    return [evaluate_rule(rule, payload, external).passed for rule in chosen]


def _rule_figures(rules_dir: Path | None, value_sets: Path | None, rounds: int) -> dict[str, Any]:
    source, raw = _rules(rules_dir)
    rules = [parse_rule(r) for r in raw]
    sets = _value_sets(value_sets, rules_dir)
    payload = _dcc("URN:UVCI:01:VN:BENCH#2")
    at = datetime.fromtimestamp(NOW, UTC)
    chosen = in_force(rules, at, CertType.VACCINATION)
    outcomes = _every_rule(rules, payload, sets, NOW)
    times = [
        _per_call_us(lambda: _every_rule(rules, payload, sets, NOW), 50) for _ in range(rounds)
    ]
    external = external_parameters(
        NOW, country="VN", value_sets=sets, issued_at=NOW - DAY, expires_at=NOW + 300 * DAY,
        issuer_country="VN",
    )  # fmt: skip
    failure = first_failure(chosen, payload, external)
    return {
        "rules_from": source,
        "rules_in_set": len(rules),
        "rules_in_force_for_a_vaccination": len(chosen),
        "rules_passed": sum(outcomes),
        "first_failure": failure.rule if failure else None,
        "value_sets": len(sets),
        "rule_set_ms": round(statistics.median(t[0] for t in times) / 1000, 4),
        "rule_set_cpu_ms": round(statistics.median(t[1] for t in times) / 1000, 4),
        "target_ms": TARGET_RULES_MS,
    }


def _load_figures() -> dict[str, Any]:
    key = SigningKey(b"\x02" * 32)
    base = load_der(
        self_signed_dsc(new_key("ES256"), country="DE", not_before=NOW, not_after=NOW + DAY).der
    )
    many = [
        Signer(i.to_bytes(8, "big"), "DE", base.spki, base.not_before, base.not_after, base.types)
        for i in range(10_000)
    ]
    data = encode_signers(key, version=1, issued_at=NOW, expires_at=NOW + DAY, signers=many)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        parse_signers(data, key.verify_key)
        times.append(time.perf_counter() - start)
    return {
        "dscs": len(many),
        "bytes": len(data),
        "load_s": round(statistics.median(times), 4),
        "target_s": TARGET_LOAD_S,
    }
