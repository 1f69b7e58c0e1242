"""Hostile input over the whole parse-and-verify path: every input gets a reject, none raises.

Random bytes and text, and mutations of a real signed pass of scanner.demo.samples. Hostile
CBOR structure is in test_fuzz_verify_structure.py, bundles and revocation updates in
test_fuzz_signed_objects.py.
"""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.fuzz_verify import (
    FUZZ,
    HUGE_BSTR,
    TOO_DEEP,
    VALID_COSE,
    VALID_TEXT,
    _flip,
    _raw_wrap,
    _rejected,
    _verify,
    _wrap,
)

from scanner.formats import base45
from scanner.formats.cp1 import qrtext
from scanner.model import Reason


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
