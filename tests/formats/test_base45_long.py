"""The integer-slot decoder against RFC 9285 read literally, one triplet at a time.

`base45.decode` has no per-character loop (it computes every triplet in one big integer),
so it is checked here against the specification's own arithmetic: the same bytes and the
same refusals for any text, short or as long as a QR code holds, as str or as bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.formats import base45

_VALUE = {c: i for i, c in enumerate(base45.ALPHABET)}


def _by_the_rfc(text: str) -> bytes | None:
    """RFC 9285 section 4.2, character by character; None where it refuses."""
    if len(text) % 3 == 1 or any(c not in _VALUE for c in text):
        return None
    out = bytearray()
    for i in range(0, len(text), 3):
        group = [_VALUE[c] for c in text[i : i + 3]]
        n = sum(v * 45**k for k, v in enumerate(group))
        if n > (0xFFFF if len(group) == 3 else 0xFF):
            return None
        out += n.to_bytes(2 if len(group) == 3 else 1, "big")
    return bytes(out)


def _decoded(text: str | bytes) -> bytes | None:
    try:
        return base45.decode(text)
    except base45.Base45Error:
        return None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_round_trip_at_any_length(data: bytes) -> None:
    text = base45.encode(data)
    assert base45.decode(text) == data
    assert base45.decode(text.encode("ascii")) == data


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=base45.ALPHABET + "a~é\x00", max_size=1500))
def test_refused_exactly_where_the_rfc_refuses(text: str) -> None:
    expected = _by_the_rfc(text)
    assert _decoded(text) == expected
    assert _decoded(text.encode("utf-8")) == expected  # bytes: non-ASCII is outside too


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=44), min_size=2, max_size=900))
def test_every_digit_combination_decodes_as_the_rfc_says(digits: list[int]) -> None:
    # Values near the limits (::: is 91124) make the slots' top bytes non-zero.
    text = "".join(base45.ALPHABET[d] for d in digits)
    assert _decoded(text) == _by_the_rfc(text)


def test_texts_longer_than_the_precomputed_masks_decode_alike() -> None:
    data = bytes(range(256)) * 40  # 10,240 bytes: 15,360 characters
    assert base45.decode(base45.encode(data)) == data
    with pytest.raises(base45.Base45Error):
        base45.decode(base45.encode(data) + "GGW")


@pytest.mark.parametrize(
    "text",
    [
        "000" * 81 + "ZZ",
        "GGW" * 90,
        "0" * 241,
        "000" * 90 + "a",
        "000" * 500 + "GGW",  # the last of many triplets out of range
        "GGW" + "000" * 500,  # the first
        "000" * 300 + "::",  # a trailing pair over 0xFF after many
    ],
)
def test_out_of_range_groups_are_refused(text: str) -> None:
    with pytest.raises(base45.Base45Error):
        base45.decode(text)
