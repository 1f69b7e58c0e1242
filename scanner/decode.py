"""Frame -> QR codes: zxing-cpp restricted to QR, content as exact bytes."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import zxingcpp

Point = tuple[int, int]


@dataclass(frozen=True, slots=True)
class DecodedCode:
    """One QR symbol found in a frame; `content` is exactly the bytes it carries."""

    content: bytes
    corners: tuple[Point, Point, Point, Point]
    valid: bool = True


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """All codes found in one frame, the one the verdict goes to first."""

    codes: tuple[DecodedCode, ...]
    elapsed_ms: float


class Decoder:
    """Decodes grey frames; one instance per thread."""

    def decode(self, gray: np.ndarray) -> DecodeResult:
        start = time.perf_counter()
        found = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)
        codes = tuple(
            DecodedCode(
                content=bytes(b.bytes),
                corners=(
                    (b.position.top_left.x, b.position.top_left.y),
                    (b.position.top_right.x, b.position.top_right.y),
                    (b.position.bottom_right.x, b.position.bottom_right.y),
                    (b.position.bottom_left.x, b.position.bottom_left.y),
                ),
            )
            for b in found
        )
        return DecodeResult(codes=codes, elapsed_ms=(time.perf_counter() - start) * 1000)
