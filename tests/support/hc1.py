"""Real EU DCCs for tests: DSCs made by the reference issuer, a signed DSC list, and texts."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey

from scanner.decide.hc1 import verify_hc1
from scanner.demo.dcc_samples import COMPLETE_SERIES  # the demo's one rule is the tests' too
from scanner.formats.hc1.dsc import CertType, Signer, load_der
from scanner.formats.hc1.issue import DocumentSigner, dcc_document, issue, new_key, self_signed_dsc
from scanner.model import ClockState, Verdict
from scanner.trust.dcc_rules import RuleSet, encode_rules, parse_rules
from scanner.trust.dcc_signers import DscList, encode_signers, parse_signers
from scanner.trust.dcc_store import DccTrust
from scanner.trust.revocation_set import RevocationSet

NOW = 1_780_000_000  # 2026-05-28
DAY = 86400
ALL = (CertType.TEST, CertType.VACCINATION, CertType.RECOVERY)


@functools.cache
def dsc(
    algorithm: str = "ES256", usage: tuple[CertType, ...] = (), country: str = "DE"
) -> DocumentSigner:
    """One DSC per (algorithm, usage, country), valid a year either side of NOW."""
    return self_signed_dsc(
        new_key(algorithm),
        country=country,
        not_before=NOW - 365 * DAY,
        not_after=NOW + 365 * DAY,
        usage=usage,
    )


DCC_KEY = SigningKey(b"\x11" * 32)


def signer_list(*signers: DocumentSigner, version: int = 1, issued_at: int = NOW - DAY) -> DscList:
    entries: list[Signer] = [load_der(s.der) for s in signers]
    data = encode_signers(
        DCC_KEY,
        version=version,
        issued_at=issued_at,
        expires_at=issued_at + 60 * DAY,
        signers=entries,
    )
    return parse_signers(data, DCC_KEY.verify_key)


def trust(*signers: DocumentSigner, issued_at: int = NOW - DAY) -> DccTrust:
    return DccTrust(signers=signer_list(*signers, issued_at=issued_at))


def vaccination(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "family_name": "Nguyễn",
        "given_name": "Văn An",
        "family_name_latin": "NGUYEN",
        "given_name_latin": "VAN<AN",
        "date_of_birth": "1990-04-01",
        "country": "DE",
        "ci": "URN:UVCI:01:DE:CHECKPOINT/TEST#1",
        "event": {
            "vp": "1119349007",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": 2,
            "sd": 2,
            "dt": "2026-01-10",
        },
    }
    fields.update(overrides)
    return dcc_document(CertType.VACCINATION, **fields)


def negative_test(**event: Any) -> dict[str, Any]:
    base = {
        "tt": "LP6464-4",
        "nm": "Roche LightCycler qPCR",
        "sc": "2026-05-27T08:00:00Z",
        "tr": "260415000",
        "tc": "Test centre",
    }
    base.update(event)
    return dcc_document(
        CertType.TEST,
        family_name="Tran",
        given_name="Thi B",
        family_name_latin="TRAN",
        given_name_latin="THI<B",
        date_of_birth="1985",
        country="DE",
        ci="URN:UVCI:01:DE:CHECKPOINT/TEST#2",
        event=base,
    )


@dataclass(frozen=True)
class Issued:
    text: bytes
    signer: DocumentSigner


def hc1(
    signer: DocumentSigner,
    dcc: dict[str, Any] | None = None,
    *,
    issued_at: int = NOW - 10 * DAY,
    expires_at: int = NOW + 100 * DAY,
) -> bytes:
    text = issue(
        signer, dcc or vaccination(), issuer="DE", issued_at=issued_at, expires_at=expires_at
    )
    return text.encode("ascii")


def rule_set(*rules: dict[str, Any], version: int = 1) -> RuleSet:
    data = encode_rules(
        DCC_KEY,
        version=version,
        issued_at=NOW - DAY,
        expires_at=NOW + 60 * DAY,
        country="VN",
        rules=list(rules) or [COMPLETE_SERIES],
        value_sets={},
    )
    return parse_rules(data, DCC_KEY.verify_key)


def partial_vaccination() -> dict[str, Any]:
    event = {"vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": 1, "sd": 2}
    return vaccination(event={**event, "dt": "2026-01-10"})


def hc1_verdict(
    dcc: dict[str, Any] | None = None, *, usage: tuple[CertType, ...] = (), at: int = NOW
) -> Verdict:
    """A real HC1 verdict on a DCC from a DSC with `usage`, under the one-rule rule set."""
    signer = dsc(usage=usage)
    dcc_trust = DccTrust(signers=signer_list(signer), rules=rule_set())
    return verify_hc1(hc1(signer, dcc), dcc_trust, RevocationSet.empty(), at, ClockState.SYNCED)
