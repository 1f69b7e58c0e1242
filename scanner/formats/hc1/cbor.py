"""Untrusted CBOR as DCC issuers write it: any valid encoding, bounded depth, nothing trailing.

CP1 insists on deterministic CBOR because it issues its own passes; DCCs come from dozens of
issuers whose encoders use indefinite lengths and unsorted maps, so only validity is required.
"""

from __future__ import annotations

import io
from typing import Any

import cbor2

MAX_DEPTH = 16


class CborError(ValueError):
    """Untrusted bytes are not one well-formed CBOR item."""


def loads(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one CBOR item; every way it can fail becomes CborError."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.load(stream, max_depth=max_depth)
    # cbor2 raises CBORDecodeError, but also TypeError (unhashable keys), OverflowError,
    # RecursionError and friends on hostile input: all mean "not CBOR we can take".
    except (
        cbor2.CBORError,
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        KeyError,
        IndexError,
        MemoryError,
    ) as exc:
        raise CborError(type(exc).__name__) from None
    if stream.tell() != len(data):
        raise CborError("trailing bytes after the CBOR item")
    return value
