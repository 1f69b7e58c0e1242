"""QR codes for a technician's screen: text blocks on the console, or a PNG."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from scanner.cli.kit import CommandError

MAX_COLUMNS = 100  # wider than this wraps on a console and no phone can read it

# Two module rows per text line. Light modules are drawn, dark ones left blank:
# the Linux console a Pi boots to is light text on black.
_GLYPHS = {
    (True, True): "\u2588",
    (True, False): "\u2580",
    (False, True): "\u2584",
    (False, False): " ",
}


def _modules(text: str) -> np.ndarray:
    # Level L: the request is shown once, close up; the smallest symbol wins.
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="L")
    return np.asarray(symbol.to_image(scale=1, add_quiet_zones=True))


def blocks(text: str) -> str:
    """The QR symbol of `text` as lines of block characters; CommandError if too wide."""
    light = _modules(text) > 127
    height, width = light.shape
    if width > MAX_COLUMNS:
        raise CommandError(f"QR code is {width} columns wide, too big for a console; use --png")
    if height % 2:
        light = np.vstack([light, np.ones((1, width), dtype=bool)])
    rows = []
    for y in range(0, light.shape[0], 2):
        rows.append(
            "".join(
                _GLYPHS[(bool(t), bool(b))] for t, b in zip(light[y], light[y + 1], strict=True)
            )
        )
    return "\n".join(rows)


def write_png(path: Path, text: str, scale: int = 6) -> None:
    """Write `text` as a QR PNG, each module `scale` pixels square."""
    image = _modules(text)
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    if not cv2.imwrite(str(path), big):
        raise CommandError(f"cannot write {path}")
