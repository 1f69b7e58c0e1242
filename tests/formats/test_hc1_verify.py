"""HC1 verification end to end on DCCs from the reference issuer: each reason, both algorithms."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from support.hc1 import ALL, DAY, DCC_KEY, NOW, dsc, hc1, negative_test, trust, vaccination

from scanner.decide.hc1 import verify_hc1
from scanner.decide.policy import Enforcement, Policy
from scanner.formats import base45
from scanner.formats.hc1 import qrtext
from scanner.formats.hc1.dsc import CertType
from scanner.formats.hc1.summary import pass_id
from scanner.model import ClockState, Outcome, Reason, TrustState
from scanner.trust.dcc_rules import RuleSet, encode_rules, parse_rules
from scanner.trust.dcc_store import DccTrust
from scanner.trust.revocation_set import RevocationSet

PINNED = ClockState.PINNED
NONE_REVOKED = RevocationSet.empty()


@pytest.mark.parametrize("algorithm", ["ES256", "PS256"])
def test_a_valid_dcc_is_accepted_with_either_algorithm(algorithm: str) -> None:
    signer = dsc(algorithm)
    verdict = verify_hc1(hc1(signer), trust(signer), NONE_REVOKED, NOW, PINNED)
    assert verdict.outcome is Outcome.ACCEPT, verdict.reason
    assert verdict.format == "hc1"
    assert verdict.trust is TrustState.FRESH
    assert verdict.kid == signer.kid
    assert verdict.schema_valid is True
    info = verdict.info
    assert info is not None
    assert info.certificate is not None
    assert info.certificate.family_name == "Nguyễn"
    assert info.certificate.family_name_latin == "NGUYEN"
    assert (info.certificate.dose, info.certificate.doses) == (2, 2)


def test_the_pass_id_is_a_hash_of_the_certificate_identifier_never_the_identifier() -> None:
    signer = dsc()
    verdict = verify_hc1(hc1(signer), trust(signer), NONE_REVOKED, NOW, PINNED)
    assert verdict.pass_id == pass_id("URN:UVCI:01:DE:CHECKPOINT/TEST#1")
    assert verdict.pass_id is not None
    assert len(verdict.pass_id) == 32
    assert "UVCI" not in verdict.pass_id


def test_a_revoked_dcc_is_refused_by_its_hash() -> None:
    signer = dsc()
    revoked = RevocationSet.from_ids([pass_id("URN:UVCI:01:DE:CHECKPOINT/TEST#1")])
    verdict = verify_hc1(hc1(signer), trust(signer), revoked, NOW, PINNED)
    assert verdict.reason is Reason.REVOKED


def test_an_expired_dcc_is_refused() -> None:
    signer = dsc()
    text = hc1(signer, issued_at=NOW - 50 * DAY, expires_at=NOW - DAY)
    assert verify_hc1(text, trust(signer), NONE_REVOKED, NOW, PINNED).reason is Reason.EXPIRED


def test_a_dcc_issued_after_the_clock_is_not_yet_valid() -> None:
    signer = dsc()
    text = hc1(signer, issued_at=NOW + DAY)
    verdict = verify_hc1(text, trust(signer), NONE_REVOKED, NOW, PINNED)
    assert verdict.reason is Reason.NOT_YET_VALID


def test_a_dsc_that_may_sign_only_tests_cannot_sign_a_vaccination() -> None:
    signer = dsc(usage=(CertType.TEST,))
    verdict = verify_hc1(hc1(signer), trust(signer), NONE_REVOKED, NOW, PINNED)
    assert verdict.reason is Reason.WRONG_KEY_USAGE
    ok = verify_hc1(hc1(signer, negative_test()), trust(signer), NONE_REVOKED, NOW, PINNED)
    assert ok.outcome is Outcome.ACCEPT, ok.reason


def test_a_dsc_naming_every_type_signs_every_type() -> None:
    signer = dsc(usage=ALL)
    assert verify_hc1(hc1(signer), trust(signer), NONE_REVOKED, NOW, PINNED).accepted


def test_a_dcc_from_an_unlisted_dsc_is_an_unknown_key() -> None:
    listed, other = dsc(), dsc(country="FR")
    verdict = verify_hc1(hc1(other), trust(listed), NONE_REVOKED, NOW, PINNED)
    assert verdict.reason is Reason.UNKNOWN_KEY


def test_without_a_dsc_list_every_dcc_is_an_unknown_key() -> None:
    verdict = verify_hc1(hc1(dsc()), DccTrust(), NONE_REVOKED, NOW, PINNED)
    assert verdict.reason is Reason.UNKNOWN_KEY
    assert verdict.trust is None


def test_a_dsc_outside_its_validity_is_not_valid() -> None:
    signer = dsc()
    later = NOW + 400 * DAY
    text = hc1(signer, issued_at=later - DAY, expires_at=later + DAY)
    verdict = verify_hc1(text, trust(signer, issued_at=later), NONE_REVOKED, later, PINNED)
    assert verdict.reason is Reason.KEY_NOT_VALID


def test_a_changed_payload_breaks_the_signature() -> None:
    signer = dsc()
    cose = bytearray(qrtext.inflate(base45.decode(hc1(signer)[4:].decode())))
    at = cose.find(b"Nguy")
    cose[at] ^= 0x01
    text = b"HC1:" + base45.encode(zlib.compress(bytes(cose))).encode()
    verdict = verify_hc1(text, trust(signer), NONE_REVOKED, NOW, PINNED)
    assert verdict.reason is Reason.BAD_SIGNATURE


def test_broken_text_is_malformed_and_oversized_text_too_large() -> None:
    signer = dsc()
    t = trust(signer)
    assert verify_hc1(b"HC1:!!!", t, NONE_REVOKED, NOW, PINNED).reason is Reason.MALFORMED
    raw = b"HC1:" + base45.encode(b"\xd2\x84" * 10).encode()
    assert verify_hc1(raw, t, NONE_REVOKED, NOW, PINNED).reason is Reason.MALFORMED
    huge = b"HC1:" + base45.encode(zlib.compress(b"\0" * 100_000)).encode()
    assert verify_hc1(huge, t, NONE_REVOKED, NOW, PINNED).reason is Reason.TOO_LARGE
    assert (
        verify_hc1(b"HC1:" + b"A" * 5000, t, NONE_REVOKED, NOW, PINNED).reason is Reason.TOO_LARGE
    )


def test_a_dcc_outside_the_schema_is_flagged_and_refused_only_by_policy() -> None:
    signer = dsc()
    bad = vaccination(date_of_birth="01/04/1990")
    flagged = verify_hc1(hc1(signer, bad), trust(signer), NONE_REVOKED, NOW, PINNED)
    assert flagged.accepted
    assert flagged.schema_valid is False
    strict = Policy(schema_invalid=Enforcement.REJECT)
    refused = verify_hc1(hc1(signer, bad), trust(signer), NONE_REVOKED, NOW, PINNED, policy=strict)
    assert refused.reason is Reason.MALFORMED


def test_a_stale_dsc_list_warns_and_an_expired_one_fails_closed() -> None:
    signer = dsc()
    t = trust(signer)
    stale = verify_hc1(hc1(signer), t, NONE_REVOKED, NOW + 10 * DAY, PINNED)
    assert stale.accepted
    assert stale.trust is TrustState.STALE
    expired = verify_hc1(
        hc1(signer, expires_at=NOW + 300 * DAY), t, NONE_REVOKED, NOW + 70 * DAY, PINNED
    )
    assert expired.reason is Reason.TRUST_EXPIRED


RULES = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "dgc-business-rules-testdata"


def _eu_rules() -> RuleSet:
    raw = [json.loads(p.read_text()) for p in sorted((RULES / "EU").rglob("rule.json"))]
    value_sets = json.loads((RULES / "valuesets" / "valueSets.json").read_text())
    data = encode_rules(
        DCC_KEY,
        version=1,
        issued_at=NOW - DAY,
        expires_at=NOW + 30 * DAY,
        country="VN",
        rules=raw,
        value_sets=value_sets,
    )
    return parse_rules(data, DCC_KEY.verify_key)


@pytest.mark.skipif(not RULES.is_dir(), reason="shared vectors not present")
def test_an_entry_rule_refuses_an_incomplete_vaccination_and_names_the_rule() -> None:
    signer = dsc()
    rules = _eu_rules()
    dcc = DccTrust(signers=trust(signer).signers, rules=rules)
    complete = verify_hc1(hc1(signer), dcc, NONE_REVOKED, NOW, PINNED)
    assert complete.accepted, (complete.reason, complete.rule_id)
    partial = vaccination(
        event={
            "vp": "1119349007",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": 1,
            "sd": 2,
            "dt": "2026-01-10",
        }
    )
    verdict = verify_hc1(hc1(signer, partial), dcc, NONE_REVOKED, NOW, PINNED)
    assert verdict.reason is Reason.RULE_FAILED
    assert verdict.rule_id is not None
    assert verdict.rule_id.startswith("VR-EU-")
