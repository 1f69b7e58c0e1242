"""Image files and arrays to grey frames, refusing what would crash or exhaust the decoder."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from scanner.errors import ImageError

# 40 MP is a large phone photo; 20000x20000 (400 MP, 400 MB grey) is refused before decoding,
# because a Pi 4 with 2-4 GB would swap or be killed.
MAX_PIXELS = 40_000_000


def load_gray(path: Path | str, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as a 2-D uint8 grey array, or raise ImageError saying why not."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ImageError(f"cannot read: {e.strerror or e}") from e
    return decode_gray(data, max_pixels=max_pixels)


def decode_gray(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, WebP, GIF, BMP) to a grey array."""
    if not data:
        raise ImageError("empty file")
    kind, size = _sniff(data)
    width, height = size
    if width < 1 or height < 1:
        raise ImageError(f"{kind} header gives an empty image ({width}x{height})")
    if width * height > max_pixels:
        raise ImageError(f"{kind} of {width}x{height} is over the {max_pixels} pixel limit")
    if _truncated(kind, data):
        raise ImageError(f"truncated {kind}")
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ImageError(f"{kind} data cannot be decoded")
    return to_gray(pixels, max_pixels=max_pixels)


def to_gray(pixels: np.ndarray, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Convert an 8- or 16-bit grey, BGR or BGRA array to 2-D uint8 grey, or raise ImageError."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ImageError(f"array of shape {pixels.shape} is not an image")
    if pixels.shape[0] * pixels.shape[1] > max_pixels:
        raise ImageError(f"image of {pixels.shape[1]}x{pixels.shape[0]} is over the pixel limit")
    if pixels.dtype == np.uint16:
        # Scale by the range actually used: 10- and 12-bit sensors fill only part of 16 bits.
        top = max(1, int(pixels.max()))
        pixels = (pixels.astype(np.float32) * (255.0 / top)).astype(np.uint8)
    elif pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    elif pixels.dtype != np.uint8:
        raise ImageError(f"{pixels.dtype} pixels are not supported (8- or 16-bit only)")
    if pixels.ndim == 2:
        return np.ascontiguousarray(pixels)
    channels = pixels.shape[2]
    if channels == 3:
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    if channels == 4:
        # Transparent pixels are often stored black: composite over white, as a code
        # printed or shown on a light page would look.
        grey = cv2.cvtColor(pixels, cv2.COLOR_BGRA2GRAY).astype(np.float32)
        alpha = pixels[:, :, 3].astype(np.float32) / 255.0
        flat: np.ndarray = np.clip(grey * alpha + 255.0 * (1.0 - alpha), 0, 255)
        return flat.astype(np.uint8)
    raise ImageError(f"{channels}-channel images are not supported")


def _sniff(data: bytes) -> tuple[str, tuple[int, int]]:
    """Format name and (width, height) from the header alone, before any pixel is decoded."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            w, h = struct.unpack(">II", data[16:24])
            return "PNG", (w, h)
        if data.startswith(b"\xff\xd8"):
            return "JPEG", _jpeg_size(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return "WebP", _webp_size(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return "GIF", (w, h)
        if data.startswith(b"BM"):
            w, h = struct.unpack("<ii", data[18:26])
            return "BMP", (w, abs(h))
    except struct.error as e:
        raise ImageError("truncated image header") from e
    raise ImageError("not an image (PNG, JPEG, WebP, GIF or BMP)")


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ImageError("corrupt JPEG header")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return (w, h)
        i += 2 + length
    raise ImageError("truncated JPEG: no frame header")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return (w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L":
        (bits,) = struct.unpack("<I", data[21:25])
        return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return (w, h)
    raise ImageError("unknown WebP variant")


def _truncated(kind: str, data: bytes) -> bool:
    # Decoders fill a cut-off JPEG with grey and say nothing useful; check the end marker.
    # Some writers append padding after it, so look in the tail rather than at the last bytes.
    if kind == "JPEG":
        return b"\xff\xd9" not in data[-4096:]
    if kind == "PNG":
        return b"IEND" not in data[-64:]
    return False
