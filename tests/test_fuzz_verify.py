"""Hostile input over the whole parse-and-verify path: every input gets a reject, none raises.

verify_text must return a REJECT verdict with a reason for anything that is not a
genuine, current pass; parse_bundle and parse_update may raise only their own
error. Mutations start from a real signed pass of scanner.samples.
"""

from __future__ import annotations

import zlib
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from scanner import samples
from scanner.model import ClockState, Outcome, Reason, Verdict
from scanner.passes import base45, qrtext
from scanner.passes.claims import (
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
from scanner.passes.cose import (
    ALG_EDDSA,
    COSE_SIGN1_TAG,
    HEADER_ALG,
    HEADER_KID,
    deterministic_dumps,
    key_id,
    sig_structure,
    sign1,
)
from scanner.trust.bundle import BundleError, parse_bundle
from scanner.trust.revocations import RevocationUpdateError, parse_update
from scanner.trust.revset import RevocationSet
from scanner.trust.snapshot import TrustSnapshot
from scanner.verify import verify_text

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z

SAMPLES = samples.build(NOW)
ISSUER: SigningKey = SAMPLES.keys.issuer
KID = key_id(bytes(ISSUER.verify_key))
BUNDLE = parse_bundle(SAMPLES.bundle, SAMPLES.keys.root.verify_key)
TRUST = TrustSnapshot(BUNDLE, RevocationSet.empty(), 0)
VALID_TEXT = SAMPLES.by_name("valid").text
VALID_COSE = qrtext.unwrap(VALID_TEXT.encode())
VALID_ITEMS: list[Any] = list(cbor2.loads(VALID_COSE).value)
CLAIMS: dict[int, Any] = cbor2.loads(VALID_ITEMS[2])

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Inputs that escaped verify_text as cbor2 errors before a4e8fc9 (cbor2 6 decode errors
# are no longer ValueErrors): explicit examples, so every run tries them.
HUGE_BSTR = b"\x5b" + (2**62).to_bytes(8, "big") + b"abc"
TOO_DEEP = b"\x81" * 64 + b"\x00"


def _verify(text: bytes) -> Verdict:
    verdict = verify_text(text, TRUST, NOW, ClockState.PINNED)
    assert isinstance(verdict, Verdict)
    if verdict.outcome is Outcome.REJECT:
        assert isinstance(verdict.reason, Reason)
    else:
        assert verdict.outcome is Outcome.ACCEPT
        assert verdict.reason is None
    return verdict


def _rejected(text: bytes) -> Reason:
    """The contract for anything but a genuine pass: no exception, a reject with a reason."""
    verdict = _verify(text)
    assert verdict.outcome is Outcome.REJECT, f"accepted: {text[:60]!r}"
    assert verdict.reason is not None
    return verdict.reason


def _wrap(cose: bytes) -> bytes:
    return qrtext.wrap(cose).encode()


def _raw_wrap(body: bytes) -> bytes:
    """Prefix + base45 without compression: the bytes reach parse_sign1 as given."""
    return qrtext.PREFIX + base45.encode(body).encode()


def _flip(data: bytes, bit: int) -> bytes:
    i = bit % (len(data) * 8)
    out = bytearray(data)
    out[i // 8] ^= 1 << (i % 8)
    return bytes(out)


# Plain CBOR values (no tags): well-formed, so any failure is the verifier's.
_scalars = (
    st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=True)
)
_keys = (
    st.integers(min_value=-(2**20), max_value=2**20) | st.text(max_size=6) | st.binary(max_size=6)
)
cbor_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


def _envelope(items: list[Any]) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, items))


def _signed_envelope(protected: bytes, payload: bytes, unprotected: Any = None) -> bytes:
    """An envelope genuinely signed by the bundle's issuer, whatever its headers say."""
    signature = ISSUER.sign(sig_structure(protected, payload)).signature
    return _envelope([protected, {} if unprotected is None else unprotected, payload, signature])


def test_unmodified_valid_pass_is_accepted() -> None:
    # Every mutation below starts from this pass; it must be accepted as it stands.
    assert _verify(VALID_TEXT.encode()).accepted
    assert _verify(_raw_wrap(VALID_COSE)).accepted


# --- random input --------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_are_rejected_without_raising(data: bytes) -> None:
    _rejected(data)


@FUZZ
@given(st.text(max_size=2500))
def test_random_text_is_rejected_without_raising(text: str) -> None:
    _rejected(text.encode("utf-8"))


@FUZZ
@given(st.binary(max_size=1500))
@example(b"")
@example(HUGE_BSTR)
@example(TOO_DEEP)
def test_random_bytes_under_the_prefix_are_rejected_without_raising(body: bytes) -> None:
    _rejected(_raw_wrap(body))


@FUZZ
@given(st.text(alphabet=base45.ALPHABET + "abc#\n\x00é", max_size=2100))
def test_random_text_with_the_prefix_is_rejected_without_raising(text: str) -> None:
    _rejected(b"CP1:" + text.encode("utf-8"))


@FUZZ
@given(st.binary(min_size=1, max_size=1500))
def test_random_zlib_like_bodies_are_rejected_without_raising(body: bytes) -> None:
    # A first byte of 0x78 makes unwrap inflate whatever follows.
    _rejected(_raw_wrap(b"\x78" + body))


@FUZZ
@given(st.binary(max_size=200), st.integers(min_value=4097, max_value=200_000))
def test_compressed_bodies_inflating_past_4096_bytes_are_too_large(seed: bytes, size: int) -> None:
    filler = (seed or b"\x00") * (size // max(len(seed), 1) + 1)
    body = zlib.compress(filler[:size], 9)
    if len(body) * 3 // 2 + 8 > qrtext.MAX_TEXT:
        return  # incompressible: the text limit applies instead, tested elsewhere
    assert _rejected(_raw_wrap(body)) is Reason.TOO_LARGE


# --- mutations of a genuine pass -----------------------------------------------------


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID_COSE) - 1))
@example(0)
@example(len(VALID_COSE) - 1)
def test_truncated_pass_is_rejected_without_raising(cut: int) -> None:
    _rejected(_wrap(VALID_COSE[:cut]))


@FUZZ
@given(st.integers(min_value=4, max_value=len(VALID_TEXT) - 1))
def test_truncated_qr_text_is_rejected_without_raising(cut: int) -> None:
    _rejected(VALID_TEXT[:cut].encode())


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID_COSE) * 8 - 1))
def test_bit_flipped_pass_is_rejected_without_raising(bit: int) -> None:
    _rejected(_wrap(_flip(VALID_COSE, bit)))


def test_every_single_bit_flip_of_a_pass_is_rejected() -> None:
    # Exhaustive: ~150 bytes make ~1,200 flips, each well under a millisecond.
    for bit in range(len(VALID_COSE) * 8):
        _rejected(_wrap(_flip(VALID_COSE, bit)))


@FUZZ
@given(st.integers(min_value=4, max_value=len(VALID_TEXT) - 1), st.sampled_from(base45.ALPHABET))
def test_qr_text_with_one_character_changed_is_rejected(pos: int, char: str) -> None:
    text = VALID_TEXT[:pos] + char + VALID_TEXT[pos + 1 :]
    if text != VALID_TEXT:
        _rejected(text.encode())


@FUZZ
@given(st.binary(min_size=1, max_size=40), st.integers(min_value=0, max_value=len(VALID_COSE) - 1))
def test_bytes_inserted_into_a_pass_are_rejected(extra: bytes, at: int) -> None:
    _rejected(_wrap(VALID_COSE[:at] + extra + VALID_COSE[at:]))


@FUZZ
@given(st.binary(min_size=1, max_size=40))
@example(b"\x00")
def test_bytes_appended_after_a_pass_are_rejected(extra: bytes) -> None:
    _rejected(_raw_wrap(VALID_COSE + extra))


def test_bytes_after_the_zlib_stream_are_rejected() -> None:
    _rejected(_raw_wrap(zlib.compress(VALID_COSE, 9) + b"junk"))


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


# --- the other signed objects: bundles and revocation updates ------------------------


def _parse_bundle_or_its_error(data: bytes) -> bool:
    """True if the bundle parsed; only BundleError may escape parse_bundle."""
    try:
        parse_bundle(data, SAMPLES.keys.root.verify_key)
    except BundleError:
        return False
    return True


def _parse_update_or_its_error(data: bytes) -> bool:
    try:
        parse_update(data, SAMPLES.keys.revocation.verify_key)
    except RevocationUpdateError:
        return False
    return True


@FUZZ
@given(st.binary(max_size=2000))
@example(b"")
@example(HUGE_BSTR)
@example(TOO_DEEP)
def test_parse_bundle_raises_only_bundle_error_on_random_bytes(data: bytes) -> None:
    assert not _parse_bundle_or_its_error(data)


@FUZZ
@given(st.integers(min_value=0, max_value=len(SAMPLES.bundle) * 8 - 1), st.booleans())
@example(0, True)
@example(len(SAMPLES.bundle) * 8 - 8, True)
def test_damaged_bundle_is_refused_with_bundle_error(bit: int, truncate: bool) -> None:
    data = SAMPLES.bundle[: bit // 8] if truncate else _flip(SAMPLES.bundle, bit)
    assert not _parse_bundle_or_its_error(data)


@FUZZ
@given(st.binary(max_size=2000))
@example(b"")
@example(HUGE_BSTR)
@example(TOO_DEEP)
def test_parse_update_raises_only_revocation_update_error_on_random_bytes(data: bytes) -> None:
    assert not _parse_update_or_its_error(data)


@FUZZ
@given(st.integers(min_value=0, max_value=len(SAMPLES.revocations) * 8 - 1), st.booleans())
@example(0, True)
@example(len(SAMPLES.revocations) * 8 - 8, True)
def test_damaged_revocation_update_is_refused_with_its_error(bit: int, truncate: bool) -> None:
    data = SAMPLES.revocations[: bit // 8] if truncate else _flip(SAMPLES.revocations, bit)
    assert not _parse_update_or_its_error(data)


@FUZZ
@given(cbor_values)
def test_root_signed_payload_of_any_shape_gives_only_bundle_error(value: Any) -> None:
    with pytest.raises(BundleError):
        parse_bundle(sign1(cbor2.dumps(value), SAMPLES.keys.root), SAMPLES.keys.root.verify_key)


@FUZZ
@given(cbor_values)
def test_revocation_signed_payload_of_any_shape_gives_only_update_error(value: Any) -> None:
    key = SAMPLES.keys.revocation
    with pytest.raises(RevocationUpdateError):
        parse_update(sign1(cbor2.dumps(value), key), key.verify_key)


# --- the long run --------------------------------------------------------------------

_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(min_value=0, max_value=len(VALID_COSE) * 8 - 1)),
    st.tuples(st.just("cut"), st.integers(min_value=0, max_value=len(VALID_COSE) - 1)),
    st.tuples(st.just("insert"), st.integers(min_value=0, max_value=len(VALID_COSE) - 1)),
    st.tuples(st.just("byte"), st.integers(min_value=0, max_value=len(VALID_COSE) - 1)),
)


def _mutate(cose: bytes, mutations: list[tuple[str, int]], noise: bytes) -> bytes:
    for kind, position in mutations:
        if not cose:
            break
        at = min(position, len(cose) - 1)
        if kind == "flip":
            cose = _flip(cose, position)
        elif kind == "cut":
            cose = cose[:at]
        elif kind == "insert":
            cose = cose[:at] + noise + cose[at:]
        else:
            cose = cose[:at] + noise[:1] + cose[at + 1 :]
    return cose


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_mutation, min_size=1, max_size=4), st.binary(min_size=1, max_size=8), st.booleans()
)
def test_long_fuzz_of_mutated_passes_never_raises_nor_accepts(
    mutations: list[tuple[str, int]], noise: bytes, compress: bool
) -> None:
    cose = _mutate(VALID_COSE, mutations, noise)
    if cose == VALID_COSE:
        return
    _rejected(_wrap(cose) if compress else _raw_wrap(cose))
