"""Base45 (RFC 9285): the encoding that lets binary data ride in QR alphanumeric mode."""

from __future__ import annotations

from scanner.errors import Base45Error

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


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


# Character -> digit value for every byte; 0xFF marks a byte outside the alphabet.
_DIGITS = bytes(ALPHABET.encode("ascii").find(bytes((b,))) % 256 for b in range(256))
_INVALID = b"\xff"


def _masks(triplets: int) -> tuple[int, int]:
    """Integers with 0xFF in the low (and in the top) byte of each 3-byte slot."""
    return (
        int.from_bytes(b"\x00\x00\xff" * triplets, "big"),
        int.from_bytes(b"\xff\x00\x00" * triplets, "big"),
    )


_MASK_TRIPLETS = 1366  # 4 KiB of text: every QR code; longer texts build their own masks
_LOW, _TOP = _masks(_MASK_TRIPLETS)


def decode(text: str | bytes) -> bytes:
    """Decode base45 text; raises Base45Error on any character or length it cannot take.

    No per-character Python loop (the PyPI `base45` package has one: 10-20 us for a DCC):
    the digits come from one `bytes.translate`, and each triplet c, d, e is a 3-byte slot of
    one big integer, so `c + 45*d + 2025*e` for every triplet at once is three masks, two
    shifts and two multiplications. The largest value, 91124, fits the slot with no carry
    into the next; a value over 0xFFFF shows as a bit in the slot's top byte. The slots'
    top bytes, all zero then, are dropped and the rest are the big-endian byte pairs.
    """
    if isinstance(text, str):
        if not text.isascii():
            raise Base45Error("character outside the base45 alphabet")
        text = text.encode("ascii")
    triplets, rest = divmod(len(text), 3)
    if rest == 1:
        raise Base45Error("base45 length leaves a single character")
    digits = text.translate(_DIGITS)
    if _INVALID in digits:
        raise Base45Error("character outside the base45 alphabet")
    size = 3 * triplets
    low, top = (_LOW, _TOP) if triplets <= _MASK_TRIPLETS else _masks(triplets)
    # Read big-endian, a triplet's c is its slot's top byte and e its low byte, and the
    # slots come out in order when written big-endian again. The masks may be longer than
    # the number: `&` of two positive integers has the length of the shorter.
    n = int.from_bytes(digits[:size] if rest else digits, "big")
    n = 2025 * (n & low) + 45 * ((n >> 8) & low) + ((n >> 16) & low)
    if n & top:
        raise Base45Error("base45 triplet out of range")
    out = bytearray(n.to_bytes(size, "big"))
    del out[::3]
    if rest == 2:
        last = digits[-2] + 45 * digits[-1]
        if last > 0xFF:
            raise Base45Error("base45 pair out of range")
        out.append(last)
    return bytes(out)
