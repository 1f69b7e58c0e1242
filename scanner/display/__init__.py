"""The officer display: who a pass belongs to and why one was refused, next to the lights."""

from __future__ import annotations

from scanner.display.backends import locale_for, open_display, open_surface
from scanner.display.base import Display, NullDisplay, Surface
from scanner.display.config import DisplayConfig
from scanner.display.errors import DisplayError
from scanner.display.screen import Line, Locale, Screen, Size, Tone, UnitStatus, compose
from scanner.display.worker import ScreenDisplay

__all__ = [
    "Display",
    "DisplayConfig",
    "DisplayError",
    "Line",
    "Locale",
    "NullDisplay",
    "Screen",
    "ScreenDisplay",
    "Size",
    "Surface",
    "Tone",
    "UnitStatus",
    "compose",
    "locale_for",
    "open_display",
    "open_surface",
]
