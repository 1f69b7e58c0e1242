"""The QR text of a pass: `CP1:` + base45 of the COSE bytes, zlib-compressed if shorter."""

from __future__ import annotations

import zlib

from scanner.errors import BadTextError, Base45Error, NotAPassError, TextTooLargeError
from scanner.formats import base45

PREFIX = b"CP1:"
MAX_TEXT = 2048  # bytes of QR text; checked before any parsing
MAX_PAYLOAD = 4096  # bytes of COSE after decompression: no decompression bombs
ZLIB_FIRST_BYTE = 0x78  # zlib's CMF byte for deflate with a 32K window; COSE starts 0xD2/0x84


def wrap(cose: bytes) -> str:
    """The QR text for COSE bytes; compress only when it makes the text shorter."""
    packed = zlib.compress(cose, 9)
    body = packed if len(packed) < len(cose) else cose
    return PREFIX.decode() + base45.encode(body)


def unwrap(text: bytes) -> bytes:
    """COSE bytes from QR text; raises TextTooLargeError, NotAPassError or BadTextError."""
    if len(text) > MAX_TEXT:
        raise TextTooLargeError(f"QR text is {len(text)} bytes, limit {MAX_TEXT}")
    if not text.startswith(PREFIX):
        raise NotAPassError("no CP1: prefix")
    try:
        body = base45.decode(text[len(PREFIX) :])  # a byte outside ASCII is outside base45
    except Base45Error as exc:
        raise BadTextError(f"base45: {exc}") from None
    if not body or body[0] != ZLIB_FIRST_BYTE:
        return body
    inflater = zlib.decompressobj()
    try:
        cose = inflater.decompress(body, MAX_PAYLOAD + 1)
    except zlib.error as exc:
        raise BadTextError(f"zlib: {exc}") from None
    if len(cose) > MAX_PAYLOAD or inflater.unconsumed_tail:
        raise TextTooLargeError(f"payload inflates past {MAX_PAYLOAD} bytes")
    if not inflater.eof:
        raise BadTextError("zlib stream is truncated")
    if inflater.unused_data:
        raise BadTextError("bytes after the zlib stream")
    return cose
