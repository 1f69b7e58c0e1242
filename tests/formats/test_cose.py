"""COSE_Sign1 profile: EdDSA only, kid in the signed header, deterministic CBOR, strict shape."""

from __future__ import annotations

import hashlib

import cbor2
import pytest
from nacl.signing import SigningKey

from scanner.errors import CoseError
from scanner.formats import cose
from scanner.formats.cose import (
    ALG_EDDSA,
    COSE_SIGN1_TAG,
    HEADER_ALG,
    HEADER_KID,
    deterministic_dumps,
    key_id,
    parse_sign1,
    sign1,
)

PAYLOAD = b"\xa1\x01\x65VN-CP"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def _envelope(*items: object, tag: int | None = COSE_SIGN1_TAG) -> bytes:
    body = list(items)
    return cbor2.dumps(cbor2.CBORTag(tag, body) if tag is not None else body)


def _protected(key: SigningKey, **extra: object) -> bytes:
    header: dict[object, object] = {
        HEADER_ALG: ALG_EDDSA,
        HEADER_KID: key_id(bytes(key.verify_key)),
    }
    header.update({int(k.removeprefix("h")): v for k, v in extra.items()})
    return deterministic_dumps(header)


def _signed(key: SigningKey, protected: bytes, payload: bytes = PAYLOAD) -> bytes:
    return key.sign(cose.sig_structure(protected, payload)).signature


def test_signed_message_parses_and_verifies_with_the_signer_key(key: SigningKey) -> None:
    envelope = parse_sign1(sign1(PAYLOAD, key))
    assert envelope.payload == PAYLOAD
    assert envelope.kid == key_id(bytes(key.verify_key))
    assert envelope.verify(key.verify_key)


def test_signed_message_does_not_verify_with_another_key(key: SigningKey) -> None:
    envelope = parse_sign1(sign1(PAYLOAD, key))
    assert not envelope.verify(SigningKey.generate().verify_key)


def test_changed_payload_does_not_verify(key: SigningKey) -> None:
    envelope = parse_sign1(sign1(PAYLOAD, key))
    forged = cose.Sign1(envelope.protected, envelope.kid, PAYLOAD + b"\x00", envelope.signature)
    assert not forged.verify(key.verify_key)


def test_signing_is_deterministic(key: SigningKey) -> None:
    # Ed25519 is deterministic and the CBOR is canonical: same input, same bytes.
    assert sign1(PAYLOAD, key) == sign1(PAYLOAD, key)


def test_envelope_is_tagged_cose_sign1_with_empty_unprotected_header(key: SigningKey) -> None:
    obj = cbor2.loads(sign1(PAYLOAD, key))
    assert isinstance(obj, cbor2.CBORTag)
    assert obj.tag == COSE_SIGN1_TAG
    protected, unprotected, payload, signature = obj.value
    assert unprotected == {}
    assert payload == PAYLOAD
    assert len(signature) == 64
    assert cbor2.loads(protected) == {1: -8, 4: key_id(bytes(key.verify_key))}


def test_sig_structure_matches_rfc_9052_encoding() -> None:
    protected = b"\xa1\x01\x27"
    payload = b"x" * 300  # long enough for a two-byte length head
    expected = cbor2.dumps(["Signature1", protected, b"", payload])
    assert cose.sig_structure(protected, payload) == expected


def test_kid_is_first_eight_bytes_of_sha256_of_the_public_key(key: SigningKey) -> None:
    raw = bytes(key.verify_key)
    assert key_id(raw) == hashlib.sha256(raw).digest()[:8]
    assert len(key_id(raw)) == 8


def test_deterministic_map_keys_are_sorted_bytewise() -> None:
    # RFC 8949 4.2.1: 24 encodes as 0x18 0x18 and -1 as 0x20, so 24 comes first
    # (length-first "canonical" ordering of RFC 7049 would put -1 first).
    encoded = deterministic_dumps({-1: 0, 24: 0})
    assert encoded == bytes.fromhex("a2 1818 00 20 00")


def test_deterministic_nested_maps_and_mixed_key_types_are_sorted() -> None:
    encoded = deterministic_dumps({"b": 1, 10: {"z": 0, "a": 0}, -65537: 2, "a": 3})
    # 0x0a < 0x3a (-65537) < 0x61 ("a") < 0x61 ("b"): compare the bytes directly.
    keys = list(cbor2.loads(encoded))
    assert keys == [10, -65537, "a", "b"]
    assert list(cbor2.loads(encoded)[10]) == ["a", "z"]


def test_deterministic_dumps_uses_shortest_integer_forms() -> None:
    assert deterministic_dumps(23) == b"\x17"
    assert deterministic_dumps(24) == b"\x18\x18"
    assert deterministic_dumps(256) == b"\x19\x01\x00"


def test_untagged_sign1_array_is_refused(key: SigningKey) -> None:
    # RFC 9052 allows COSE_Sign1 without its tag, but every signer here writes
    # it: the untagged array would be a second encoding of the same pass.
    protected = _protected(key)
    data = _envelope(protected, {}, PAYLOAD, _signed(key, protected), tag=None)
    with pytest.raises(CoseError, match="tag 18"):
        parse_sign1(data)


def test_kid_in_unprotected_header_is_refused(key: SigningKey) -> None:
    kid = key_id(bytes(key.verify_key))
    protected = deterministic_dumps({HEADER_ALG: ALG_EDDSA})
    data = _envelope(protected, {HEADER_KID: kid}, PAYLOAD, _signed(key, protected))
    with pytest.raises(CoseError):
        parse_sign1(data)


def test_any_unprotected_header_content_is_refused_even_beside_a_good_protected_one(
    key: SigningKey,
) -> None:
    protected = _protected(key)
    data = _envelope(protected, {HEADER_KID: b"\x00" * 8}, PAYLOAD, _signed(key, protected))
    with pytest.raises(CoseError):
        parse_sign1(data)


@pytest.mark.parametrize("alg", [-7, -35, -257, 0, 8, "EdDSA", -8.0, None])
def test_algorithm_other_than_eddsa_is_refused(key: SigningKey, alg: object) -> None:
    protected = deterministic_dumps({HEADER_ALG: alg, HEADER_KID: key_id(bytes(key.verify_key))})
    data = _envelope(protected, {}, PAYLOAD, _signed(key, protected))
    with pytest.raises(CoseError):
        parse_sign1(data)


@pytest.mark.parametrize("extra", [{"h3": 0}, {"h2": [1]}, {"h33": b"x"}, {"h5": b"\x00" * 12}])
def test_extra_protected_header_fields_are_refused(
    key: SigningKey, extra: dict[str, object]
) -> None:
    protected = _protected(key, **extra)
    data = _envelope(protected, {}, PAYLOAD, _signed(key, protected))
    with pytest.raises(CoseError):
        parse_sign1(data)


def test_protected_header_without_kid_is_refused(key: SigningKey) -> None:
    protected = deterministic_dumps({HEADER_ALG: ALG_EDDSA})
    with pytest.raises(CoseError):
        parse_sign1(_envelope(protected, {}, PAYLOAD, _signed(key, protected)))


@pytest.mark.parametrize("kid", [b"\x00" * 7, b"\x00" * 9, "abcdefgh", 12345678])
def test_kid_that_is_not_eight_bytes_is_refused(key: SigningKey, kid: object) -> None:
    protected = deterministic_dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid})
    with pytest.raises(CoseError):
        parse_sign1(_envelope(protected, {}, PAYLOAD, _signed(key, protected)))


@pytest.mark.parametrize(
    "tag",
    # Tag 0 makes cbor2 parse the array as a date string, which fails inside cbor2.
    [17, 98, 96, 0],
)
def test_wrong_tag_is_refused(key: SigningKey, tag: int) -> None:
    protected = _protected(key)
    with pytest.raises(CoseError):
        parse_sign1(_envelope(protected, {}, PAYLOAD, _signed(key, protected), tag=tag))


def test_three_element_array_is_refused(key: SigningKey) -> None:
    protected = _protected(key)
    with pytest.raises(CoseError):
        parse_sign1(_envelope(protected, {}, PAYLOAD))


def test_five_element_array_is_refused(key: SigningKey) -> None:
    protected = _protected(key)
    with pytest.raises(CoseError):
        parse_sign1(_envelope(protected, {}, PAYLOAD, _signed(key, protected), b""))


@pytest.mark.parametrize(
    "position_value",
    [(0, {1: -8}), (0, "text"), (2, "payload as text"), (2, None), (3, b"\x00" * 63), (3, "sig")],
)
def test_wrong_types_in_envelope_positions_are_refused(
    key: SigningKey, position_value: tuple[int, object]
) -> None:
    position, value = position_value
    protected = _protected(key)
    items: list[object] = [protected, {}, PAYLOAD, _signed(key, protected)]
    items[position] = value
    with pytest.raises(CoseError):
        parse_sign1(_envelope(*items))


def test_protected_header_that_is_not_a_map_is_refused(key: SigningKey) -> None:
    protected = cbor2.dumps([1, -8])
    with pytest.raises(CoseError):
        parse_sign1(_envelope(protected, {}, PAYLOAD, _signed(key, protected)))


def test_invalid_cbor_is_refused_with_cose_error() -> None:
    with pytest.raises(CoseError):
        parse_sign1(b"\xff\xfe")


def test_cbor_that_cbor2_rejects_with_value_error_is_refused_with_cose_error() -> None:
    # A map with an unhashable (list) key: cbor2 raises a TypeError-family error here.
    with pytest.raises(CoseError):
        parse_sign1(bytes.fromhex("a1 80 01"))


def test_truncated_envelope_is_refused_with_cose_error(key: SigningKey) -> None:
    data = sign1(PAYLOAD, key)
    with pytest.raises(CoseError):
        parse_sign1(data[:-10])


def test_verify_signature_refuses_wrong_length_signatures(key: SigningKey) -> None:
    message = b"message"
    signature = key.sign(message).signature
    assert cose.verify_signature(key.verify_key, message, signature)
    assert not cose.verify_signature(key.verify_key, message, signature[:63])
    assert not cose.verify_signature(key.verify_key, message, signature + b"\x00")
