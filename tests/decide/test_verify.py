"""Every verdict and reason code, each produced from a real signed input.

Time, trust-bundle and clock states and the Verifier's clock floor are in
test_verify_clock.py.
"""

from __future__ import annotations

import zlib
from typing import Any

import cbor2
import pytest
from nacl.signing import SigningKey
from support.verify import (
    DAY,
    NOW,
    _bundle,
    _check,
    _claims,
    _info,
    _issue,
    _issue_payload,
    _snapshot,
    fixture_sample_set,  # noqa: F401 - fixtures
    fixture_trust,  # noqa: F401 - fixtures
)

from scanner.decide.policy import Enforcement, Policy
from scanner.decide.verify import verify_text
from scanner.demo import samples
from scanner.formats import base45
from scanner.formats.cose import (
    ALG_EDDSA,
    COSE_SIGN1_TAG,
    HEADER_ALG,
    HEADER_KID,
    deterministic_dumps,
    key_id,
    parse_sign1,
    sig_structure,
    sign1,
)
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import (
    CLAIM_CHECKPOINT,
    CLAIM_CTI,
    CLAIM_EXP,
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_NBF,
    encode_claims,
)
from scanner.model import ClockState, Holder, Outcome, PassKind, Reason
from scanner.trust.bundle import IssuerKey
from scanner.trust.snapshot import TrustSnapshot

# --- the samples: one of each kind a checkpoint meets ---------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "valid",
        "test-card",
        "expired",
        "not-yet-valid",
        "forged",
        "unknown-key",
        "revoked",
        "not-a-pass",
        "malformed",
    ],
)
def test_each_sample_gets_its_documented_verdict(
    sample_set: samples.SampleSet, trust: TrustSnapshot, name: str
) -> None:
    sample = sample_set.by_name(name)
    verdict = _check(sample.text, trust)
    assert verdict.reason is sample.reason
    assert verdict.accepted is (sample.reason is None)


def test_valid_pass_is_accepted_with_its_signed_facts(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    verdict = _check(sample_set.by_name("valid").text, trust)
    assert verdict.outcome is Outcome.ACCEPT
    assert verdict.reason is None
    assert verdict.pass_id == "P-000001"
    assert verdict.info is not None
    assert verdict.info.kind is PassKind.TRAVEL
    assert verdict.info.holder == Holder("NGUYỄN VĂN AN", "1234")
    assert verdict.kid == key_id(bytes(sample_set.keys.issuer.verify_key))
    assert verdict.bundle_version == 1
    assert verdict.revocation_serial == 1
    assert verdict.now == NOW


def test_test_card_is_accepted_with_kind_test(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    verdict = _check(sample_set.by_name("test-card").text, trust)
    assert verdict.accepted
    assert verdict.info is not None
    assert verdict.info.kind is PassKind.TEST


def test_own_issued_pass_is_accepted(sample_set: samples.SampleSet, trust: TrustSnapshot) -> None:
    verdict = _check(_issue(sample_set.keys.issuer, _info()), trust)
    assert verdict.accepted
    assert verdict.pass_id == "P-100001"


# --- not_a_pass, malformed, too_large ------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b"https://example.org/menu?table=12",
        b"BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD",
        b"",
        b"cp1:BB8",  # the prefix is case-sensitive
        b"HC1:NCFOXN%TS3DH",  # another scheme's health certificate
    ],
)
def test_foreign_qr_text_is_not_a_pass(trust: TrustSnapshot, text: bytes) -> None:
    verdict = _check(text, trust)
    assert verdict.outcome is Outcome.REJECT
    assert verdict.reason is Reason.NOT_A_PASS


@pytest.mark.parametrize(
    "text", [b"CP1:THIS IS NOT BASE45", b"CP1:A", b"CP1:bb8", b"CP1:\xc3\x84BB", b"CP1:GGW"]
)
def test_broken_base45_is_malformed(trust: TrustSnapshot, text: bytes) -> None:
    assert _check(text, trust).reason is Reason.MALFORMED


def test_broken_zlib_stream_is_malformed(trust: TrustSnapshot) -> None:
    body = zlib.compress(b"\x00" * 500)
    assert _check("CP1:" + base45.encode(body[:-6]), trust).reason is Reason.MALFORMED
    assert _check("CP1:" + base45.encode(b"\x78\xff\xff\xff"), trust).reason is Reason.MALFORMED


def test_valid_cbor_that_is_not_a_cose_sign1_is_malformed(trust: TrustSnapshot) -> None:
    text = "CP1:" + base45.encode(cbor2.dumps({"hello": "world"}))
    assert _check(text, trust).reason is Reason.MALFORMED


@pytest.mark.parametrize(
    ("label", "claims"),
    [
        ("iat as text", _claims({CLAIM_IAT: "2026-11-30"})),
        ("exp as float", _claims({CLAIM_EXP: float(NOW + DAY)})),
        ("nbf as bool", _claims({CLAIM_NBF: True})),
        ("negative exp", _claims({CLAIM_EXP: -1})),
        ("cti as text", _claims({CLAIM_CTI: "P-100002"})),
        ("cti with space", _claims({CLAIM_CTI: b"P 100002"})),
        ("iss as bytes", _claims({CLAIM_ISS: b"VN-CP"})),
        ("holder as list", _claims({CLAIM_CHECKPOINT: [1, "A", "1234"]})),
        ("unknown kind", _claims({CLAIM_CHECKPOINT: {1: 99, 2: "A", 3: "1234"}})),
        ("kind as text", _claims({CLAIM_CHECKPOINT: {1: "1", 2: "A", 3: "1234"}})),
        ("name too long", _claims({CLAIM_CHECKPOINT: {1: 1, 2: "A" * 65, 3: "1234"}})),
        ("exp before nbf", _claims({CLAIM_EXP: NOW - 2 * DAY})),
        ("payload is a list", [1, 2, 3]),
        ("payload is text", "P-100002"),
    ],
)
def test_payload_with_wrong_cbor_types_signed_by_the_real_issuer_is_malformed(
    sample_set: samples.SampleSet, trust: TrustSnapshot, label: str, claims: Any
) -> None:
    verdict = _check(_issue_payload(sample_set.keys.issuer, claims), trust)
    assert verdict.reason is Reason.MALFORMED, label
    assert verdict.info is None


def test_well_formed_claims_built_by_hand_are_accepted(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    # The hand-built claims of the malformed cases are right when nothing is changed.
    assert _check(_issue_payload(sample_set.keys.issuer, _claims()), trust).accepted


def test_text_over_2048_bytes_is_too_large(trust: TrustSnapshot) -> None:
    text = b"CP1:" + b"0" * 2045
    assert len(text) == 2049
    assert _check(text, trust).reason is Reason.TOO_LARGE


def test_text_over_the_limit_is_too_large_even_without_the_prefix(trust: TrustSnapshot) -> None:
    assert _check(b"https://example.org/" + b"a" * 3000, trust).reason is Reason.TOO_LARGE


def test_valid_pass_padded_past_2048_bytes_is_too_large(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    text = sample_set.by_name("valid").text.encode()
    assert _check(text + b"0" * (2049 - len(text)), trust).reason is Reason.TOO_LARGE


def test_zlib_bomb_under_the_prefix_is_too_large(trust: TrustSnapshot) -> None:
    body = zlib.compress(b"\x00" * 1_000_000, 9)
    text = "CP1:" + base45.encode(body)
    assert len(text) <= qrtext.MAX_TEXT, "the bomb must pass the text limit to test inflation"
    assert _check(text, trust).reason is Reason.TOO_LARGE


def test_payload_inflating_to_just_over_4096_bytes_is_too_large(trust: TrustSnapshot) -> None:
    body = zlib.compress(b"\x00" * (qrtext.MAX_PAYLOAD + 1), 9)
    assert _check("CP1:" + base45.encode(body), trust).reason is Reason.TOO_LARGE


def test_compressed_real_pass_under_the_limits_is_accepted(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    # Force the compressed form, whatever wrap() chose, to show inflation works.
    cose = qrtext.unwrap(_issue(sample_set.keys.issuer, _info()))
    text = "CP1:" + base45.encode(zlib.compress(cose, 9))
    assert _check(text, trust).accepted


def test_signed_payload_that_is_truncated_cbor_is_malformed(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    payload = encode_claims(_info())[:-5]
    text = qrtext.wrap(sign1(payload, sample_set.keys.issuer)).encode()
    assert _check(text, trust).reason is Reason.MALFORMED


def test_truncated_pass_is_malformed(sample_set: samples.SampleSet, trust: TrustSnapshot) -> None:
    cose = qrtext.unwrap(sample_set.by_name("valid").text.encode())
    assert _check("CP1:" + base45.encode(cose[:-20]), trust).reason is Reason.MALFORMED


def test_a_pass_issued_after_its_own_expiry_is_malformed(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    odd = _info(issued_at=NOW + 10 * DAY, not_before=NOW - DAY, expires_at=NOW + DAY)
    verdict = verify_text(_issue(sample_set.keys.issuer, odd), trust, NOW, ClockState.PINNED)
    assert verdict.reason is Reason.MALFORMED


# --- keys and signatures -------------------------------------------------------------


def test_pass_signed_by_a_key_no_bundle_lists_is_unknown_key(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    rogue = SigningKey.generate()
    verdict = _check(_issue(rogue, _info()), trust)
    assert verdict.reason is Reason.UNKNOWN_KEY
    assert verdict.kid == key_id(bytes(rogue.verify_key))
    assert verdict.info is None


def test_pass_signed_by_the_root_key_is_unknown_key(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    # The root signs bundles only: a pass it signs is not from an issuer.
    assert _check(_issue(sample_set.keys.root, _info()), trust).reason is Reason.UNKNOWN_KEY


def test_pass_by_an_issuer_key_revoked_in_the_bundle_is_key_not_valid(
    sample_set: samples.SampleSet,
) -> None:
    retired = IssuerKey(sample_set.keys.issuer.verify_key, 0, NOW + 365 * DAY, revoked=True)
    trust = _snapshot(sample_set, _bundle(sample_set, issuer=retired))
    verdict = _check(sample_set.by_name("valid").text, trust)
    assert verdict.reason is Reason.KEY_NOT_VALID
    assert verdict.info is None


@pytest.mark.parametrize(
    ("not_before", "not_after"),
    [(NOW + 1, NOW + 365 * DAY), (0, NOW), (0, NOW - DAY)],
    ids=["window-not-started", "window-ends-now", "window-ended"],
)
def test_pass_verified_outside_its_issuer_key_window_is_key_not_valid(
    sample_set: samples.SampleSet, not_before: int, not_after: int
) -> None:
    windowed = IssuerKey(sample_set.keys.issuer.verify_key, not_before, not_after)
    trust = _snapshot(sample_set, _bundle(sample_set, issuer=windowed))
    assert _check(_issue(sample_set.keys.issuer, _info()), trust).reason is Reason.KEY_NOT_VALID


def test_pass_verified_inside_its_issuer_key_window_is_accepted(
    sample_set: samples.SampleSet,
) -> None:
    windowed = IssuerKey(sample_set.keys.issuer.verify_key, NOW, NOW + 1)
    trust = _snapshot(sample_set, _bundle(sample_set, issuer=windowed))
    assert _check(_issue(sample_set.keys.issuer, _info()), trust).accepted


def test_tampered_pass_is_bad_signature(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    verdict = _check(sample_set.by_name("forged").text, trust)
    assert verdict.reason is Reason.BAD_SIGNATURE
    assert verdict.info is None, "claims of an unverified pass must not be reported"


def test_pass_claiming_the_issuer_kid_but_signed_by_another_key_is_bad_signature(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    kid = key_id(bytes(sample_set.keys.issuer.verify_key))
    protected = deterministic_dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid})
    payload = encode_claims(_info())
    signature = SigningKey.generate().sign(sig_structure(protected, payload)).signature
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    assert _check(qrtext.wrap(cose), trust).reason is Reason.BAD_SIGNATURE


def test_signature_moved_onto_another_payload_is_bad_signature(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    good = parse_sign1(qrtext.unwrap(_issue(sample_set.keys.issuer, _info())))
    other = encode_claims(_info(pass_id="P-999999"))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [good.protected, {}, other, good.signature]))
    assert _check(qrtext.wrap(cose), trust).reason is Reason.BAD_SIGNATURE


# --- all of them ---------------------------------------------------------------------


def test_every_reason_code_is_produced_by_some_real_input(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    keys = sample_set.keys
    expired_trust = _snapshot(
        sample_set, _bundle(sample_set, issued_at=NOW - 400 * DAY, expires_at=NOW - 1)
    )
    revoked_key = _snapshot(
        sample_set,
        _bundle(sample_set, issuer=IssuerKey(keys.issuer.verify_key, 0, NOW + DAY, revoked=True)),
    )
    valid = sample_set.by_name("valid").text
    produced = {
        _check(sample_set.by_name(name).text, trust).reason
        for name in ("not-a-pass", "malformed", "unknown-key", "forged")
    }
    produced |= {
        _check(sample_set.by_name(name).text, trust).reason
        for name in ("not-yet-valid", "expired", "revoked")
    }
    produced.add(_check(b"CP1:" + b"0" * 3000, trust).reason)
    produced.add(_check(valid, revoked_key).reason)
    produced.add(_check(valid, expired_trust).reason)
    produced.add(
        _check(
            valid,
            trust,
            clock=ClockState.UNSYNCED,
            policy=Policy(untrusted_clock=Enforcement.REJECT),
        ).reason
    )
    assert produced == set(Reason)
