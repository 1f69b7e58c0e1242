"""Base45 (RFC 9285): the encoding that lets binary data ride in QR alphanumeric mode."""

from __future__ import annotations

from scanner.errors import Base45Error

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# Two characters always make one byte or the low part of a pair: a table of all
# 45*45 two-character strings turns the inner loop into one dict lookup each.
_PAIR = {a + b: _VALUE[a] + 45 * _VALUE[b] for a in ALPHABET for b in ALPHABET}


def encode(data: bytes) -> str:
    """Encode bytes as base45 text."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        rest, c = divmod(data[i] * 256 + data[i + 1], 45)
        e, d = divmod(rest, 45)
        out.append(ALPHABET[c] + ALPHABET[d] + ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(ALPHABET[c] + ALPHABET[d])
    return "".join(out)


def decode(text: str) -> bytes:
    """Decode base45 text; raises Base45Error on any character or length it cannot take."""
    n_full, rest = divmod(len(text), 3)
    if rest == 1:
        raise Base45Error("base45 length leaves a single character")
    out = bytearray()
    pair = _PAIR
    try:
        for i in range(0, n_full * 3, 3):
            n = pair[text[i : i + 2]] + 2025 * _VALUE[text[i + 2]]
            if n > 0xFFFF:
                raise Base45Error("base45 triplet out of range")
            out += n.to_bytes(2, "big")
        if rest == 2:
            n = pair[text[-2:]]
            if n > 0xFF:
                raise Base45Error("base45 pair out of range")
            out.append(n)
    except KeyError:
        raise Base45Error("character outside the base45 alphabet") from None
    return bytes(out)
