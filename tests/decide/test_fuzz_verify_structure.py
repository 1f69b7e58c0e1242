"""Hostile CBOR structure inside a pass: wrong types in each position, huge declared
lengths, deep nesting, other algorithms and headers. Each is a reject; none raises.
"""

from __future__ import annotations

from typing import Any

import cbor2
from hypothesis import example, given
from hypothesis import strategies as st
from support.fuzz_verify import (
    CLAIMS,
    FUZZ,
    ISSUER,
    KID,
    VALID_ITEMS,
    _envelope,
    _keys,
    _raw_wrap,
    _rejected,
    _signed_envelope,
    _verify,
    _wrap,
    cbor_values,
)

from scanner.formats.cose import ALG_EDDSA, HEADER_ALG, HEADER_KID, deterministic_dumps, sign1
from scanner.formats.cp1.claims import (
    CLAIM_CHECKPOINT,
    CLAIM_CTI,
    CLAIM_EXP,
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_NBF,
    HOLDER_ID_LAST4,
    HOLDER_KIND,
    HOLDER_NAME,
)
from scanner.model import Reason

# --- wrong CBOR types in each position -----------------------------------------------


@FUZZ
@given(st.integers(min_value=0, max_value=3), cbor_values)
def test_wrong_type_in_any_envelope_position_is_malformed(position: int, value: Any) -> None:
    if position == 1 and value == {}:
        return  # the one right value of the unprotected header
    if type(value) is bytes and position != 1:
        return  # the right type there: the mutation tests cover wrong bytes
    items = list(VALID_ITEMS)
    items[position] = value
    assert _rejected(_wrap(_envelope(items))) is Reason.MALFORMED


@FUZZ
@given(st.lists(cbor_values, max_size=6).filter(lambda xs: len(xs) != 4))
def test_envelope_with_the_wrong_number_of_items_is_malformed(items: list[Any]) -> None:
    assert _rejected(_wrap(_envelope(items))) is Reason.MALFORMED


@FUZZ
@given(cbor_values)
def test_any_cbor_value_that_is_not_an_envelope_is_malformed(value: Any) -> None:
    assert _rejected(_raw_wrap(cbor2.dumps(value))) is Reason.MALFORMED


_CLAIM_TYPES: dict[tuple[int, ...], type] = {
    (CLAIM_ISS,): str,
    (CLAIM_IAT,): int,
    (CLAIM_NBF,): int,
    (CLAIM_EXP,): int,
    (CLAIM_CTI,): bytes,
    (CLAIM_CHECKPOINT,): dict,
    (CLAIM_CHECKPOINT, HOLDER_KIND): int,
    (CLAIM_CHECKPOINT, HOLDER_NAME): str,
    (CLAIM_CHECKPOINT, HOLDER_ID_LAST4): str,
}


@FUZZ
@given(st.sampled_from(sorted(_CLAIM_TYPES)), cbor_values)
def test_wrong_type_in_any_signed_claim_is_malformed(path: tuple[int, ...], value: Any) -> None:
    right = _CLAIM_TYPES[path]
    if isinstance(value, right) and not (right is int and isinstance(value, bool)):
        return  # a right-typed value may be valid: not this property
    claims = {k: (dict(v) if isinstance(v, dict) else v) for k, v in CLAIMS.items()}
    target = claims
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    protected = deterministic_dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: KID})
    verdict = _verify(_wrap(_signed_envelope(protected, deterministic_dumps(claims))))
    assert verdict.reason is Reason.MALFORMED
    assert verdict.info is None


@FUZZ
@given(cbor_values)
def test_any_signed_payload_that_is_not_a_claims_map_is_malformed(value: Any) -> None:
    if isinstance(value, dict):
        return
    assert _rejected(_wrap(sign1(cbor2.dumps(value), ISSUER))) is Reason.MALFORMED


# --- huge declared lengths, deep nesting ---------------------------------------------

_HEADS = {"bstr": 0x40, "tstr": 0x60, "array": 0x80, "map": 0xA0}


def _with_huge_item(major: str, length: int, where: str) -> bytes:
    """CBOR whose item claims `length` bytes or elements but carries three."""
    width, info = (4, 26) if length < 2**32 else (8, 27)
    head = bytes([_HEADS[major] | info]) + length.to_bytes(width, "big") + b"\x01\x02\x03"
    if where == "whole":
        return head
    # The lying item replaces one envelope field, with nothing after it.
    index = {"protected": 0, "payload": 2, "signature": 3}[where]
    return b"\xd2\x84" + b"".join(cbor2.dumps(item) for item in VALID_ITEMS[:index]) + head


@FUZZ
@given(
    st.sampled_from(sorted(_HEADS)),
    st.integers(min_value=2**16, max_value=2**64 - 1),
    st.sampled_from(["whole", "protected", "payload", "signature"]),
)
@example("bstr", 2**62, "whole")
@example("array", 2**62, "payload")
def test_huge_declared_lengths_are_malformed(major: str, length: int, where: str) -> None:
    assert _rejected(_raw_wrap(_with_huge_item(major, length, where))) is Reason.MALFORMED


@FUZZ
@given(st.integers(min_value=9, max_value=1000), st.sampled_from([b"\x81", b"\xa1\x00", b"\xd2"]))
@example(64, b"\x81")
def test_deep_nesting_is_malformed(depth: int, opener: bytes) -> None:
    # Past ~680 levels the text itself is over 2 KiB and is refused before parsing.
    assert _rejected(_raw_wrap(opener * depth + b"\x00")) in {Reason.MALFORMED, Reason.TOO_LARGE}


@FUZZ
@given(st.integers(min_value=1, max_value=600))
def test_deep_nesting_inside_the_unprotected_header_is_malformed(depth: int) -> None:
    nested = b"\xa1\x01" * depth + b"\x00"
    protected, _, payload, signature = (cbor2.dumps(item) for item in VALID_ITEMS)
    body = b"\xd2\x84" + protected + nested + payload + signature
    assert _rejected(_raw_wrap(body)) is Reason.MALFORMED


# --- algorithm and headers -----------------------------------------------------------


@FUZZ
@given(cbor_values.filter(lambda v: not (type(v) is int and v == ALG_EDDSA)))
def test_any_algorithm_but_eddsa_is_malformed_even_when_genuinely_signed(alg: Any) -> None:
    protected = deterministic_dumps({HEADER_ALG: alg, HEADER_KID: KID})
    assert _rejected(_wrap(_signed_envelope(protected, VALID_ITEMS[2]))) is Reason.MALFORMED


@FUZZ
@given(st.dictionaries(_keys, cbor_values, min_size=1, max_size=3))
def test_extra_protected_header_fields_are_malformed_even_when_genuinely_signed(
    extra: dict[Any, Any],
) -> None:
    header: dict[Any, Any] = {**extra, HEADER_ALG: ALG_EDDSA, HEADER_KID: KID}
    if set(header) == {HEADER_ALG, HEADER_KID}:
        return
    protected = deterministic_dumps(header)
    assert _rejected(_wrap(_signed_envelope(protected, VALID_ITEMS[2]))) is Reason.MALFORMED


@FUZZ
@given(st.binary(max_size=12), st.booleans())
def test_kid_in_the_unprotected_header_is_malformed(kid: bytes, also_protected: bool) -> None:
    unprotected_kid = KID if len(kid) == 8 else kid
    header = {HEADER_ALG: ALG_EDDSA, HEADER_KID: KID} if also_protected else {HEADER_ALG: ALG_EDDSA}
    cose = _signed_envelope(
        deterministic_dumps(header), VALID_ITEMS[2], unprotected={HEADER_KID: unprotected_kid}
    )
    assert _rejected(_wrap(cose)) is Reason.MALFORMED
