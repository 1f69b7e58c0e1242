"""EU DCC samples beside the CP1 ones: DSCs, a signed DSC list and rule set, and one DCC per case.

Signed by throwaway keys through the same HC1 codec a unit verifies with, so `demo` shows
HC1 verdicts the way a unit reaches them: valid (ES256 and PS256), expired, wrong key usage,
an entry rule failed, and revoked by its hashed pass ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey

from scanner.formats.hc1.dsc import CertType, load_der
from scanner.formats.hc1.issue import DocumentSigner, dcc_document, issue, new_key, self_signed_dsc
from scanner.formats.hc1.summary import pass_id
from scanner.model import Reason
from scanner.trust.dcc_rules import encode_rules
from scanner.trust.dcc_signers import encode_signers

DAY = 86400
REVOKED_CI = "URN:UVCI:01:VN:DEMO/REVOKED#7"
REVOKED_PASS_ID = pass_id(REVOKED_CI)  # what the sample revocation update lists

# The checkpoint's one entry rule in the demo: a vaccination series must be complete.
COMPLETE_SERIES: dict[str, Any] = {
    "Identifier": "VR-VN-0001",
    "Type": "Acceptance",
    "Country": "VN",
    "Version": "1.0.0",
    "SchemaVersion": "1.0.0",
    "Engine": "CERTLOGIC",
    "EngineVersion": "0.7.5",
    "CertificateType": "Vaccination",
    "Description": [{"lang": "en", "desc": "The vaccination series is complete."}],
    "ValidFrom": "2021-06-01T00:00:00Z",
    "ValidTo": "2035-06-01T00:00:00Z",
    "AffectedFields": ["v.0.dn", "v.0.sd"],
    "Logic": {
        "if": [
            {"var": "payload.v.0"},
            {">=": [{"var": "payload.v.0.dn"}, {"var": "payload.v.0.sd"}]},
            True,
        ]
    },
}


@dataclass(frozen=True, slots=True)
class DccSample:
    """One HC1 text and the verdict it must get."""

    name: str
    text: str
    reason: Reason | None  # None: accepted


@dataclass(frozen=True, slots=True)
class DccSamples:
    """The signed DSC list and rule set, and the sample DCCs they judge."""

    signers: bytes  # the signed DSC list
    rules: bytes  # the signed rule set
    samples: tuple[DccSample, ...]

    def by_name(self, name: str) -> DccSample:
        """The sample called `name`."""
        return next(s for s in self.samples if s.name == name)


def _vaccination(ci: str, dose: int = 2, doses: int = 2) -> dict[str, Any]:
    return dcc_document(
        CertType.VACCINATION,
        family_name="Lê",
        given_name="Thị Hoa",
        family_name_latin="LE",
        given_name_latin="THI<HOA",
        date_of_birth="1992-07-15",
        country="VN",
        ci=ci,
        event={
            "vp": "J07BX03",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": dose,
            "sd": doses,
            "dt": "2026-01-10",
        },
    )


def build_dcc(now: int, dcc_key: SigningKey) -> DccSamples:
    """DSCs valid a year either side of `now`, the objects signed by `dcc_key`, and samples."""

    def dsc(algorithm: str, usage: tuple[CertType, ...] = ()) -> DocumentSigner:
        key = new_key(algorithm)
        return self_signed_dsc(
            key, country="VN", not_before=now - 365 * DAY, not_after=now + 365 * DAY, usage=usage
        )

    es256, ps256, tests_only = dsc("ES256"), dsc("PS256"), dsc("ES256", (CertType.TEST,))

    def signed(signer: DocumentSigner, dcc: dict[str, Any], *, expired: bool = False) -> str:
        if expired:
            return issue(signer, dcc, issuer="VN", issued_at=now - 200 * DAY, expires_at=now - DAY)
        return issue(signer, dcc, issuer="VN", issued_at=now - DAY, expires_at=now + 300 * DAY)

    samples = (
        DccSample("hc1-valid", signed(es256, _vaccination("URN:UVCI:01:VN:DEMO/VALID#1")), None),
        DccSample(
            "hc1-valid-ps256", signed(ps256, _vaccination("URN:UVCI:01:VN:DEMO/RSA#2")), None
        ),
        DccSample(
            "hc1-expired",
            signed(es256, _vaccination("URN:UVCI:01:VN:DEMO/OLD#3"), expired=True),
            Reason.EXPIRED,
        ),
        DccSample(
            "hc1-wrong-key-usage",
            signed(tests_only, _vaccination("URN:UVCI:01:VN:DEMO/USAGE#4")),
            Reason.WRONG_KEY_USAGE,
        ),
        DccSample(
            "hc1-rule-failed",
            signed(es256, _vaccination("URN:UVCI:01:VN:DEMO/DOSE1#5", dose=1)),
            Reason.RULE_FAILED,
        ),
        DccSample("hc1-revoked", signed(es256, _vaccination(REVOKED_CI)), Reason.REVOKED),
    )
    signers = encode_signers(
        dcc_key,
        version=1,
        issued_at=now - DAY,
        expires_at=now + 30 * DAY,
        signers=[load_der(s.der) for s in (es256, ps256, tests_only)],
    )
    rules = encode_rules(
        dcc_key,
        version=1,
        issued_at=now - DAY,
        expires_at=now + 30 * DAY,
        country="VN",
        rules=[COMPLETE_SERIES],
        value_sets={},
    )
    return DccSamples(signers, rules, samples)
