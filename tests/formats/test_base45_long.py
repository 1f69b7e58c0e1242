"""Long base45 (EU DCCs) takes the vectorised path: the same bytes and the same refusals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.formats import base45


def _by_loop(text: str) -> bytes | None:
    """The per-character decoder alone, on chunks of 240 characters (a multiple of 3)."""
    pieces = [text[i : i + 240] for i in range(0, len(text), 240)]
    if len(pieces[-1]) % 3 == 1:
        return None
    try:
        return b"".join(base45.decode(p) for p in pieces)
    except base45.Base45Error:
        return None


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=161, max_size=1200))
def test_long_text_round_trips(data: bytes) -> None:
    text = base45.encode(data)
    assert len(text) > 240
    assert base45.decode(text) == data


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=base45.ALPHABET + "a~é", min_size=241, max_size=900))
def test_long_text_is_refused_exactly_when_the_loop_refuses(text: str) -> None:
    try:
        got: bytes | None = base45.decode(text)
    except base45.Base45Error:
        got = None
    expected = _by_loop(text)
    assert got == expected


@pytest.mark.parametrize(
    "text",
    ["000" * 81 + "ZZ", "GGW" * 90, "0" * 241, "000" * 90 + "a"],
)
def test_out_of_range_groups_are_refused(text: str) -> None:
    with pytest.raises(base45.Base45Error):
        base45.decode(text)
