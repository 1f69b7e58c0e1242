"""The font every screen is drawn in: DejaVu Sans, shipped in the package for Vietnamese."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from PIL import ImageFont

from scanner.errors import FontMissingError

# Shipped beside this module (see fonts/LICENSE) so a unit never depends on what
# the image happens to have; Debian's copy is the fallback for a wheel built
# without package data.
_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
_SYSTEM = Path("/usr/share/fonts/truetype/dejavu")


def font_path(bold: bool) -> Path:
    """Where the regular or bold face is on this machine."""
    name = _FILES[bold]
    shipped = resources.files("scanner.display") / "fonts" / name
    if shipped.is_file():
        return Path(str(shipped))
    system = _SYSTEM / name
    if system.is_file():
        return system
    raise FontMissingError(f"{name} not found in the package nor in {_SYSTEM}")


@functools.lru_cache(maxsize=64)
def font(px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The face at `px` pixels; cached because opening a TrueType file costs milliseconds."""
    return ImageFont.truetype(str(font_path(bold)), px)
