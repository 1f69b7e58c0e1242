"""Bounded zlib inflation of a QR payload, shared by the CP1 and HC1 texts.

Exactly one complete zlib stream, at most `limit` bytes out: a small QR code cannot
become a decompression bomb, and a truncated stream or trailing bytes are refused.
Each format passes its own error classes, so its verdict keeps its own reasons.
"""

from __future__ import annotations

import zlib


def inflate(
    packed: bytes, limit: int, *, broken: type[ValueError], too_large: type[ValueError]
) -> bytes:
    """Decompress `packed`; raises `broken` for a bad stream, `too_large` past `limit`."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(packed, limit + 1)
    except zlib.error as exc:
        raise broken(f"zlib: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise too_large(f"payload inflates past {limit} bytes")
    if not inflater.eof:
        raise broken("zlib stream is truncated")
    if inflater.unused_data:
        raise broken("bytes after the zlib stream")
    return out
