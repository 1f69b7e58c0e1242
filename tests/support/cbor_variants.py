"""Other CBOR encodings of one value: every way a sloppy or hostile encoder can write it.

Written by hand on purpose: a library encoder produces one encoding; these are
the others (long heads, indefinite lengths, chunked strings, reordered keys,
extra tags) that a strict decoder must refuse.
"""

from __future__ import annotations

from typing import Any

import cbor2
from hypothesis import strategies as st

WIDTHS = (0, 1, 2, 4, 8)  # head argument widths: inline, then 1/2/4/8 extra bytes


def head(draw: st.DrawFn, major: int, argument: int) -> bytes:
    """A head for `argument`, in its shortest form or any longer one."""
    shortest = 0 if argument < 24 else next(w for w in (1, 2, 4, 8) if argument < 256**w)
    width = draw(st.sampled_from([w for w in WIDTHS if w >= shortest]))
    if width == 0:
        return bytes((major << 5 | argument,))
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes((major << 5 | info,)) + argument.to_bytes(width, "big")


def _string(draw: st.DrawFn, major: int, data: bytes) -> bytes:
    if major == 3 and draw(st.booleans()) and len(data) > 1:
        # Chunk text only at character boundaries: each chunk must be valid UTF-8.
        text = data.decode("utf-8")
        cut = draw(st.integers(1, len(text) - 1))
        chunks = [text[:cut].encode(), text[cut:].encode()]
    elif major == 2 and draw(st.booleans()) and len(data) > 1:
        cut = draw(st.integers(1, len(data) - 1))
        chunks = [data[:cut], data[cut:]]
    else:
        return head(draw, major, len(data)) + data
    return (
        bytes((major << 5 | 31,))
        + b"".join(head(draw, major, len(c)) + c for c in chunks)
        + b"\xff"
    )


@st.composite
def encoding(draw: st.DrawFn, value: Any) -> bytes:
    """Some encoding of `value` (possibly the deterministic one)."""
    out = b""
    if draw(st.integers(0, 9)) == 0:
        out += head(draw, 6, 55799)  # the self-described CBOR wrapper
    if isinstance(value, cbor2.CBORTag):
        return out + head(draw, 6, value.tag) + draw(encoding(value.value))
    if isinstance(value, bool) or value is None:
        return out + cbor2.dumps(value)
    if isinstance(value, int):
        return out + (head(draw, 0, value) if value >= 0 else head(draw, 1, -1 - value))
    if isinstance(value, bytes):
        return out + _string(draw, 2, value)
    if isinstance(value, str):
        return out + _string(draw, 3, value.encode())
    if isinstance(value, list | tuple):
        return out + _array(draw, value)
    if isinstance(value, dict | cbor2.frozendict):
        return out + _map(draw, value)
    raise TypeError(type(value).__name__)


def _array(draw: st.DrawFn, value: list[Any] | tuple[Any, ...]) -> bytes:
    items = b"".join(draw(encoding(v)) for v in value)
    if draw(st.booleans()):
        return b"\x9f" + items + b"\xff"
    return head(draw, 4, len(value)) + items


def _map(draw: st.DrawFn, value: Any) -> bytes:
    pairs = list(value.items())
    if len(pairs) > 1 and draw(st.booleans()):
        pairs = draw(st.permutations(pairs))
    if pairs and draw(st.integers(0, 4)) == 0:
        pairs = [*pairs, draw(st.sampled_from(pairs))]  # a duplicate key
    items = b"".join(draw(encoding(k)) + draw(encoding(v)) for k, v in pairs)
    if draw(st.booleans()):
        return b"\xbf" + items + b"\xff"
    return head(draw, 5, len(pairs)) + items
