"""The one place a display backend is chosen from configuration."""

from __future__ import annotations

import logging
from collections.abc import Callable

from scanner.display.base import Display, NullDisplay, Surface
from scanner.display.config import DisplayConfig
from scanner.display.screen import Locale, Screen
from scanner.display.worker import ScreenDisplay
from scanner.errors import DisplayError

log = logging.getLogger(__name__)


def open_surface(config: DisplayConfig) -> Surface | None:
    """The configured panel (None for `none`); raises DisplayError when it cannot be opened."""
    if config.backend == "none":
        return None
    try:
        # Both draw with Pillow, which comes with the optional `display` extra.
        from scanner.display.console import open_console  # noqa: PLC0415
        from scanner.display.oled import open_oled  # noqa: PLC0415
    except ImportError as exc:
        raise DisplayError(f"the {config.backend} display needs the display extra: {exc}") from exc
    return open_console(config) if config.backend == "console" else open_oled(config)


def locale_for(config: DisplayConfig, label: str) -> Locale:
    """The display locale: configured language and offset, and this unit's label."""
    return Locale(config.language, config.utc_offset_min, label)


def open_display(
    config: DisplayConfig,
    label: str,
    *,
    on_fault: Callable[[str], None] | None = None,
    on_drawn: Callable[[Screen], None] | None = None,
) -> Display:
    """The daemon's display; a panel that will not open is reported and the unit runs without it."""
    try:
        surface = open_surface(config)
    except DisplayError as exc:
        log.error("display not available: %s", exc)
        if on_fault is not None:
            on_fault("open_failed")
        return NullDisplay()
    if surface is None:
        return NullDisplay()
    return ScreenDisplay(
        surface,
        locale_for(config, label),
        clear_after_s=config.clear_after_s,
        slow_draw_ms=config.slow_draw_ms,
        on_fault=on_fault,
        on_drawn=on_drawn,
    )
