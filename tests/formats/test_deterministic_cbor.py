"""One signed object, one encoding: every other CBOR encoding of a valid pass is `malformed`."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.cbor_variants import encoding
from support.verify import NOW, fixture_sample_set, fixture_trust  # noqa: F401

from scanner.decide.verify import verify_text
from scanner.demo import samples
from scanner.formats.cose import (
    COSE_SIGN1_TAG,
    CborError,
    SignedObjectError,
    deterministic_dumps,
    loads_untrusted,
    open_signed,
    parse_sign1,
    sign1,
)
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import CLAIM_CTI
from scanner.model import ClockState, Outcome, Reason
from scanner.trust.bundle import BundleError, IssuerKey, encode_bundle, parse_bundle
from scanner.trust.snapshot import TrustSnapshot

PASSES = ("valid", "test-card", "expired", "revoked")


def _verdict(cose: bytes, trust: TrustSnapshot) -> tuple[Outcome, Reason | None]:
    verdict = verify_text(qrtext.wrap(cose).encode(), trust, NOW, ClockState.SYNCED)
    return verdict.outcome, verdict.reason


def _cose(sample_set: samples.SampleSet, name: str) -> bytes:
    return qrtext.unwrap(sample_set.by_name(name).text.encode())


@settings(max_examples=300, deadline=None)
@given(data=st.data(), name=st.sampled_from(PASSES))
def test_any_other_encoding_of_a_signed_pass_is_malformed(
    sample_set: samples.SampleSet, trust: TrustSnapshot, data: st.DataObject, name: str
) -> None:
    canonical = _cose(sample_set, name)
    variant = data.draw(encoding(cbor2.loads(canonical)))
    if variant == canonical:
        # The canonical one keeps its own verdict.
        assert _verdict(variant, trust) == _verdict(canonical, trust)
    else:
        assert _verdict(variant, trust) == (Outcome.REJECT, Reason.MALFORMED)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_pass_whose_signed_claims_are_not_deterministic_is_malformed(
    sample_set: samples.SampleSet, trust: TrustSnapshot, data: st.DataObject
) -> None:
    # The issuer itself signed a sloppy encoding: the signature holds, the pass does not.
    claims = parse_sign1(_cose(sample_set, "valid")).payload
    variant = data.draw(encoding(cbor2.loads(claims)))
    outcome = _verdict(sign1(variant, sample_set.keys.issuer), trust)
    if variant == claims:
        assert outcome == (Outcome.ACCEPT, None)
    else:
        assert outcome == (Outcome.REJECT, Reason.MALFORMED)


def test_the_eleven_reported_encodings_are_refused(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    canonical = _cose(sample_set, "valid")
    body = canonical[1:]  # after the one-byte tag head d2
    protected, _, payload, signature = cbor2.loads(canonical).value
    items = b"".join(cbor2.dumps(x) for x in (protected, {}, payload, signature))
    long_sig = b"\x5b" + (64).to_bytes(8, "big") + signature
    variants = {
        "untagged": body,
        "tag written d8 12": b"\xd8\x12" + body,
        "indefinite array": b"\xd2\x9f" + items + b"\xff",
        "8-byte array length": b"\xd2\x9b" + (4).to_bytes(8, "big") + items,
        "8-byte signature length": b"\xd2\x84" + items[: -len(cbor2.dumps(signature))] + long_sig,
        "chunked signature": b"\xd2\x84"
        + items[: -len(cbor2.dumps(signature))]
        + b"\x5f"
        + cbor2.dumps(signature[:32])
        + cbor2.dumps(signature[32:])
        + b"\xff",
        "55799 wrapper": b"\xd9\xd9\xf7" + canonical,
        "indefinite empty map": b"\xd2\x84" + cbor2.dumps(protected) + b"\xbf\xff" + items[-200:],
        "trailing byte": canonical + b"\x00",
        "tag 18 twice": b"\xd2" + canonical,
        "other tag": b"\xd8\x62" + body,
    }
    assert _verdict(canonical, trust) == (Outcome.ACCEPT, None)
    for what, variant in variants.items():
        assert _verdict(variant, trust) == (Outcome.REJECT, Reason.MALFORMED), what


def test_a_signed_pass_with_a_duplicate_cti_is_malformed(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    claims = parse_sign1(_cose(sample_set, "revoked")).payload
    revoked_id = cbor2.loads(claims)[CLAIM_CTI]
    other = type(revoked_id)(b"P-000999" if isinstance(revoked_id, bytes) else "P-000999")
    assert 0xA0 <= claims[0] < 0xB7  # a small definite map
    # One more entry: the cti again, a decoder taking the last copy sees P-000999.
    duplicate = bytes((claims[0] + 1,)) + claims[1:] + cbor2.dumps(CLAIM_CTI) + cbor2.dumps(other)
    assert cbor2.loads(duplicate)[CLAIM_CTI] == other
    verdict = _verdict(sign1(duplicate, sample_set.keys.issuer), trust)
    assert verdict == (Outcome.REJECT, Reason.MALFORMED)


def test_every_signed_object_type_refuses_a_non_deterministic_payload(
    sample_set: samples.SampleSet,
) -> None:
    key = sample_set.keys.root
    sloppy = b"\xbf" + cbor2.dumps("type") + cbor2.dumps("bundle") + b"\xff"
    with pytest.raises(SignedObjectError) as caught:
        open_signed(sign1(sloppy, key), key.verify_key, "bundle", 6, "trust bundle")
    assert caught.value.code == "malformed"


@pytest.mark.parametrize(
    "data",
    [
        b"\xa2\x01\x01\x01\x02",  # duplicate key 1
        b"\x9f\x01\xff",  # indefinite array
        b"\x18\x01",  # 1 written in two bytes
        b"\xc1\x01",  # a date tag
        b"\xd9\x01\x02\x80",  # tag 258 (a set)
        b"\xa2\x02\x00\x01\x00",  # keys out of order
    ],
)
def test_strict_decoder_refuses(data: bytes) -> None:
    with pytest.raises(CborError):
        loads_untrusted(data, max_depth=4)


def test_a_bundle_listing_one_issuer_key_twice_is_refused(sample_set: samples.SampleSet) -> None:
    k = sample_set.keys
    issuer = k.issuer.verify_key
    for revoked_first in (True, False):
        entries = [
            IssuerKey(issuer, 0, NOW + 10**6, revoked=revoked_first),
            IssuerKey(issuer, 0, NOW + 10**6, revoked=not revoked_first),
        ]
        data = encode_bundle(
            k.root, version=2, issued_at=NOW, expires_at=NOW + 10**6,
            issuers=entries, revocation_key=k.revocation.verify_key,
        )  # fmt: skip
        with pytest.raises(BundleError, match="twice"):
            parse_bundle(data, k.root.verify_key)


def test_the_signers_own_encoding_is_deterministic(sample_set: samples.SampleSet) -> None:
    for sample in sample_set.samples:
        if sample.text.startswith("CP1:") and sample.reason is not Reason.MALFORMED:
            cose = qrtext.unwrap(sample.text.encode())
            tagged = cbor2.loads(cose)
            assert tagged.tag == COSE_SIGN1_TAG
            assert deterministic_dumps(tagged) == cose
