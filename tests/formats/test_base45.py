"""Base45 (RFC 9285): the published vectors, a round trip for any bytes, and strict refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.errors import Base45Error
from scanner.formats import base45
from scanner.formats.base45 import ALPHABET

RFC_9285_VECTORS = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
]


@pytest.mark.parametrize(("raw", "text"), RFC_9285_VECTORS)
def test_encode_matches_rfc_9285_vectors(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text


@pytest.mark.parametrize(("raw", "text"), RFC_9285_VECTORS)
def test_decode_matches_rfc_9285_vectors(raw: bytes, text: str) -> None:
    assert base45.decode(text) == raw


def test_empty_input_round_trips_to_empty() -> None:
    assert base45.encode(b"") == ""
    assert base45.decode("") == b""


def test_extreme_byte_values_use_the_longest_forms() -> None:
    # 0xFFFF is the largest pair and 0xFF the largest single byte: they must survive.
    assert base45.decode(base45.encode(b"\xff\xff")) == b"\xff\xff"
    assert base45.decode(base45.encode(b"\xff")) == b"\xff"
    assert base45.encode(b"\xff\xff") == "FGW"
    assert base45.encode(b"\xff") == "U5"


@given(st.binary(max_size=600))
def test_any_bytes_round_trip(data: bytes) -> None:
    text = base45.encode(data)
    assert set(text) <= set(ALPHABET)
    assert len(text) == 3 * (len(data) // 2) + 2 * (len(data) % 2)
    assert base45.decode(text) == data


@pytest.mark.parametrize(
    "text",
    [
        "BB8a",  # lowercase letter
        "bb8",  # lowercase letters are not in the alphabet
        "BB#",  # '#' is not in the alphabet
        "BB_",
        "AB\n",
        "ÄB8",  # non-ASCII
        "%69 VD92EX0=",  # padding is not part of base45
    ],
)
def test_characters_outside_the_alphabet_are_refused(text: str) -> None:
    with pytest.raises(Base45Error):
        base45.decode(text)


@pytest.mark.parametrize("text", ["A", "BB8B", "QED8WEX"])
def test_length_leaving_a_single_character_is_refused(text: str) -> None:
    assert len(text) % 3 == 1
    with pytest.raises(Base45Error):
        base45.decode(text)


@pytest.mark.parametrize(
    "text",
    [
        ":::",  # 44 + 44*45 + 44*2025 = 91124 > 0xFFFF
        "GGW",  # 0xFFFF + 1: the smallest triplet out of range
        "BB8:::",  # out of range after a valid triplet
    ],
)
def test_triplets_above_0xffff_are_refused(text: str) -> None:
    with pytest.raises(Base45Error):
        base45.decode(text)


@pytest.mark.parametrize("text", ["::", "V5", "BB8::"])
def test_trailing_pairs_above_0xff_are_refused(text: str) -> None:
    with pytest.raises(Base45Error):
        base45.decode(text)


def test_base45_error_is_a_value_error() -> None:
    # Callers catch ValueError families; Base45Error must stay inside one.
    assert issubclass(Base45Error, ValueError)


@given(st.text(max_size=40))
def test_decode_raises_only_base45_error_for_any_text(text: str) -> None:
    try:
        data = base45.decode(text)
    except Base45Error:
        return
    assert base45.encode(data) == text
