"""Frame -> QR codes: zxing-cpp restricted to QR, with escalation spent only where it can pay."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

Point = tuple[int, int]
Corners = tuple[Point, Point, Point, Point]
Gray = np.ndarray

# The QR family only: all formats cost 15-50x more on empty frames (hardware-notes.md).
_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
# Plain keeps control characters and follows ECI, so `text` matches what the issuer encoded;
# `content` is always the raw bytes, whatever the text mode.
_PLAIN = zxingcpp.TextMode.Plain
_LOCAL = zxingcpp.Binarizer.LocalAverage
_GLOBAL = zxingcpp.Binarizer.GlobalHistogram


@dataclass(frozen=True, slots=True)
class DecodedCode:
    """One QR symbol found in a frame; `content` is exactly the bytes it carries."""

    content: bytes
    corners: Corners
    valid: bool = True
    text: str = ""  # the content as text (ECI/charset applied), for display and test files
    binary: bool = False  # zxing found bytes that are not text (then `text` is meaningless)
    stage: str = "bare"  # which step of the ladder read it; for benchmarks, never for policy

    @property
    def area(self) -> float:
        """Area of the symbol's quadrilateral in pixels (shoelace formula)."""
        xs = [p[0] for p in self.corners]
        ys = [p[1] for p in self.corners]
        s = sum(xs[i] * ys[(i + 1) % 4] - xs[(i + 1) % 4] * ys[i] for i in range(4))
        return abs(s) / 2.0

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the symbol in frame coordinates."""
        return (
            sum(p[0] for p in self.corners) / 4.0,
            sum(p[1] for p in self.corners) / 4.0,
        )


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """All codes found in one frame, the one the verdict goes to first."""

    codes: tuple[DecodedCode, ...]
    elapsed_ms: float
    failed: int = 0  # symbols located but not decoded by the first pass
    escalated: bool = False  # whether any retry beyond the first pass ran

    @property
    def primary(self) -> DecodedCode | None:
        """The code the verdict goes to, or None when nothing was read."""
        return self.codes[0] if self.codes else None


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    transform: Callable[[Gray], Gray]
    binarizer: zxingcpp.Binarizer
    scale: float = 1.0  # how much `transform` enlarges the image, to map corners back
    max_pixels: int = 1 << 62  # skip the step on larger regions: its cost grows with size


def _same(img: Gray) -> Gray:
    return img


def _denoise(img: Gray) -> Gray:
    # A 3x3 median removes screen moire, print texture and sensor noise that split modules
    # under a local threshold, while keeping module edges.
    return cv2.medianBlur(img, 3)


def _upscale(img: Gray) -> Gray:
    # Small or far codes have 1-3 px per module: the detector needs more to find edges.
    return cv2.resize(img, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)


def _stretch(img: Gray) -> Gray:
    # Glare and poor light squeeze the code into a few grey levels; CLAHE spreads them locally.
    return _CLAHE.apply(img)


def _sharpen(img: Gray) -> Gray:
    # Unsharp mask for slight defocus or motion blur, which rounds module corners.
    soft = cv2.GaussianBlur(img, (0, 0), 1.5)
    return cv2.addWeighted(img, 1.8, soft, -0.8, 0)


_CLAHE = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4))

# Cheapest and most often useful first; each step is one zxing call on at most 4x the pixels.
LADDER: tuple[_Step, ...] = (
    _Step("global", _same, _GLOBAL),
    _Step("denoise", _denoise, _GLOBAL),
    _Step("upscale", _upscale, _LOCAL, 2.0, max_pixels=250_000),
    _Step("stretch", _stretch, _LOCAL),
    _Step("sharpen", _sharpen, _LOCAL),
    _Step("denoise-local", _denoise, _LOCAL),
)


class Decoder:
    """Decodes grey frames; one instance per thread.

    The first pass is exactly the bare zxing-cpp call (QR only) with `return_errors`, which
    costs nothing extra. Further work happens only when zxing located a symbol it could not
    decode (retried on that region), or when the whole image is small enough that the retry
    ladder costs less than one first pass on a camera frame, all within `budget_ms`.
    """

    def __init__(
        self,
        *,
        budget_ms: float = 25.0,
        small_image_pixels: int = 200_000,
        max_regions: int = 3,
        ladder: Sequence[_Step] = LADDER,
    ) -> None:
        self._budget_s = budget_ms / 1000.0
        self._small = small_image_pixels
        self._max_regions = max_regions
        self._ladder = tuple(ladder)

    def decode(self, gray: Gray) -> DecodeResult:
        """Read every QR code in `gray` (2-D uint8); the verdict's code comes first."""
        start = time.perf_counter()
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError("decoder takes a 2-D uint8 grey image")
        found = zxingcpp.read_barcodes(gray, formats=_QR, text_mode=_PLAIN, return_errors=True)
        if not found and gray.size > self._small:
            # The common case on a live camera: nothing in view, no extra work at all.
            return DecodeResult((), (time.perf_counter() - start) * 1000.0)
        codes = [_code(b, "bare") for b in found if b.valid]
        failed = [b for b in found if not b.valid]
        escalated = False
        if not codes:
            deadline = start + self._budget_s
            if failed:
                regions = sorted((_bounds(b) for b in failed), key=_box_area, reverse=True)
                for box in regions[: self._max_regions]:
                    escalated = True
                    codes.extend(self._retry(gray, box, deadline))
                    if codes or time.perf_counter() >= deadline:
                        break
            elif gray.size <= self._small:
                escalated = True
                h, w = gray.shape
                codes.extend(self._retry(gray, (0, 0, w, h), deadline))
        ordered = rank(_unique(codes), gray.shape[1], gray.shape[0])
        elapsed = (time.perf_counter() - start) * 1000.0
        return DecodeResult(ordered, elapsed, failed=len(failed), escalated=escalated)

    def _retry(
        self, gray: Gray, box: tuple[int, int, int, int], deadline: float
    ) -> list[DecodedCode]:
        """Run the ladder on one region until a step reads something or time runs out."""
        x0, y0, x1, y1 = box
        region = gray[y0:y1, x0:x1]
        if region.size == 0:
            return []
        for step in self._ladder:
            if time.perf_counter() >= deadline:
                return []
            if region.size > step.max_pixels:
                continue
            image = np.ascontiguousarray(step.transform(region))
            found = zxingcpp.read_barcodes(
                image, formats=_QR, text_mode=_PLAIN, binarizer=step.binarizer
            )
            codes = [_code(b, step.name, step.scale, x0, y0) for b in found if b.valid]
            if codes:
                return codes
        return []


def rank(codes: Sequence[DecodedCode], width: int, height: int) -> tuple[DecodedCode, ...]:
    """Order codes so the one the verdict goes to comes first.

    The traveller holds their pass closest to the camera, so it is the largest; among codes of
    comparable size (at least half the largest) the most central wins. The rest follow by area.
    """
    if len(codes) < 2:
        return tuple(codes)
    cx, cy = width / 2.0, height / 2.0
    largest = max(c.area for c in codes)

    def key(c: DecodedCode) -> tuple[int, float]:
        mx, my = c.centre
        if c.area >= largest / 2.0:
            return (0, (mx - cx) ** 2 + (my - cy) ** 2)
        return (1, -c.area)

    return tuple(sorted(codes, key=key))


def _unique(codes: list[DecodedCode]) -> list[DecodedCode]:
    # Region retries can read a code twice (overlapping regions); keep the first sighting.
    seen: list[DecodedCode] = []
    for c in codes:
        if not any(c.content == s.content and _near(c, s) for s in seen):
            seen.append(c)
    return seen


def _near(a: DecodedCode, b: DecodedCode) -> bool:
    (ax, ay), (bx, by) = a.centre, b.centre
    reach = math.sqrt(max(a.area, b.area)) / 2.0
    return abs(ax - bx) <= reach and abs(ay - by) <= reach


def _code(
    b: zxingcpp.Barcode, stage: str, scale: float = 1.0, dx: int = 0, dy: int = 0
) -> DecodedCode:
    p = b.position

    def pt(q: zxingcpp.Point) -> Point:
        return (round(q.x / scale) + dx, round(q.y / scale) + dy)

    return DecodedCode(
        content=bytes(b.bytes),
        corners=(pt(p.top_left), pt(p.top_right), pt(p.bottom_right), pt(p.bottom_left)),
        text=b.text,
        binary=b.content_type == zxingcpp.ContentType.Binary,
        stage=stage,
    )


def _bounds(b: zxingcpp.Barcode) -> tuple[int, int, int, int]:
    """Bounding box of a located symbol, grown by a quiet zone, clipped later by slicing."""
    p = b.position
    xs = [p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y]
    # A failed symbol's outline can be off by a module or two; a quarter of its size around
    # it keeps the finder patterns and quiet zone inside the crop.
    pad = max(8, (max(xs) - min(xs) + max(ys) - min(ys)) // 8)
    return (max(0, min(xs) - pad), max(0, min(ys) - pad), max(xs) + pad, max(ys) + pad)


def _box_area(box: tuple[int, int, int, int]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])
