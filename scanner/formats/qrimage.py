"""Rendering QR text as an image (level Q), for issued passes, test cards and synthetic cameras."""

from __future__ import annotations

import numpy as np
import zxingcpp

DEFAULT_SCALE = 6  # pixels per module: crisp on paper and on a phone screen


def render_qr(text: str | bytes, scale: int = DEFAULT_SCALE, quiet_zone: bool = True) -> np.ndarray:
    """The QR symbol at error correction level Q as a 2-D uint8 image (black on white)."""
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="Q")
    return np.asarray(symbol.to_image(scale=scale, add_quiet_zones=quiet_zone))


def qr_version(text: str | bytes) -> int:
    """The QR version (1-40) chosen at level Q: version v is 17 + 4v modules wide."""
    width: int = render_qr(text, scale=1, quiet_zone=False).shape[1]
    return (width - 17) // 4
