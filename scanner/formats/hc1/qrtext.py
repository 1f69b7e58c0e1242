"""The QR text of an EU DCC: `HC1:` + base45 of a zlib-compressed COSE_Sign1."""

from __future__ import annotations

import zlib

from scanner.errors import Base45Error
from scanner.formats import base45

PREFIX = b"HC1:"
# The same hard limits as CP1: a DCC with an RSA-3072 signature is about 1,100
# characters and 720 bytes of COSE, so these leave room without inviting bombs.
MAX_TEXT = 2048  # bytes of QR text; checked before any parsing
MAX_PAYLOAD = 4096  # bytes of COSE after decompression


class TextTooLargeError(ValueError):
    """The text or its decompressed payload is over the hard limits."""


class NotHc1Error(ValueError):
    """The text does not carry the `HC1:` context identifier."""


class Base45TextError(ValueError):
    """The text after the prefix is not base45."""


class CompressionError(ValueError):
    """The base45 bytes are not one complete zlib stream (hcert requires compression)."""


def has_prefix(text: bytes) -> bool:
    """Whether the text claims to be an EU DCC."""
    return text.startswith(PREFIX)


def unprefix(text: bytes) -> bytes:
    """The base45 part of the text; raises TextTooLargeError, NotHc1Error or Base45TextError."""
    if len(text) > MAX_TEXT:
        raise TextTooLargeError(f"QR text is {len(text)} bytes, limit {MAX_TEXT}")
    if not has_prefix(text):
        raise NotHc1Error("no HC1: prefix")
    body = text[len(PREFIX) :]
    if not body.isascii():
        raise Base45TextError("text after HC1: is not ASCII")
    return body


def debase45(body: str | bytes) -> bytes:
    """Base45 decode; raises Base45TextError."""
    try:
        return base45.decode(body)
    except Base45Error as exc:
        raise Base45TextError(str(exc)) from None


def inflate(packed: bytes) -> bytes:
    """Decompress at most MAX_PAYLOAD bytes; raises CompressionError or TextTooLargeError."""
    inflater = zlib.decompressobj()
    try:
        cose = inflater.decompress(packed, MAX_PAYLOAD + 1)
    except zlib.error as exc:
        raise CompressionError(f"zlib: {exc}") from None
    if len(cose) > MAX_PAYLOAD or inflater.unconsumed_tail:
        raise TextTooLargeError(f"payload inflates past {MAX_PAYLOAD} bytes")
    if not inflater.eof:
        raise CompressionError("zlib stream is truncated")
    if inflater.unused_data:
        raise CompressionError("bytes after the zlib stream")
    return cose


def wrap(cose: bytes) -> str:
    """The QR text for COSE bytes (the reference issuer's side)."""
    return PREFIX.decode() + base45.encode(zlib.compress(cose, 9))
