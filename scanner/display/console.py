"""The console backend: a full-screen text view on a tty, or the image on an HDMI framebuffer."""

from __future__ import annotations

import os
from typing import Any, TextIO

from PIL import Image

from scanner.display.config import DisplayConfig
from scanner.display.paint import paint
from scanner.display.screen import Screen
from scanner.display.textview import blank_ansi, render_ansi, render_text
from scanner.errors import DisplayError


class ConsoleSurface:
    """Draws on a text stream (a tty) or, when given one, a luma framebuffer device."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        framebuffer: Any = None,
        size: tuple[int, int] | None = None,
        owns_stream: bool = False,
        full_screen: bool = True,
    ) -> None:
        if (stream is None) == (framebuffer is None):
            raise ValueError("give a text stream or a framebuffer device, not both")
        self._stream = stream
        self._framebuffer = framebuffer
        self._size = size
        self._owns_stream = owns_stream
        # False appends each screen as plain framed text (the demo, beside the lights line).
        self._full_screen = full_screen
        self.text = ""  # the last text view drawn: what the officer reads
        self.image: Image.Image | None = None  # the last image drawn on the framebuffer

    def grid(self) -> tuple[int, int]:
        """Columns and rows of the text view: the tty's own size, or `size`, or 40x12."""
        if self._size is not None:
            return self._size
        try:
            if self._stream is not None and self._stream.isatty():
                cols, rows = os.get_terminal_size(self._stream.fileno())
                return cols, rows
        except (OSError, ValueError):
            pass
        return 40, 12

    def draw(self, screen: Screen) -> None:
        """Draw `screen` on the framebuffer, or as text on the tty."""
        if self._framebuffer is not None:
            self.image = paint(screen, self._framebuffer.size, "RGB")
            self._framebuffer.display(self.image)
            return
        assert self._stream is not None
        cols, rows = self.grid()
        self.text = render_text(screen, cols, rows)
        if self._full_screen:
            self._stream.write(render_ansi(screen, cols, rows))
        else:
            rule = "+" + "-" * cols + "+"
            body = "\n".join(f"|{row.ljust(cols)}|" for row in self.text.split("\n"))
            self._stream.write(f"\n{rule}\n{body}\n{rule}\n")
        self._stream.flush()

    def close(self) -> None:
        """Release the framebuffer, or clear the tty."""
        if self._framebuffer is not None:
            self._framebuffer.cleanup()
            return
        assert self._stream is not None
        self.text = ""
        if self._full_screen:
            self._stream.write(blank_ansi())
        self._stream.flush()
        if self._owns_stream:
            self._stream.close()


def open_console(config: DisplayConfig) -> ConsoleSurface:
    """The configured tty or HDMI framebuffer; DisplayError when it cannot be opened."""
    if config.console_output == "framebuffer":
        try:
            from luma.core.device import linux_framebuffer  # type: ignore[import-untyped]  # noqa: PLC0415
        except ImportError as exc:
            raise DisplayError("the framebuffer needs luma.core (pip install luma.oled)") from exc
        try:
            return ConsoleSurface(framebuffer=linux_framebuffer(config.framebuffer))
        except Exception as exc:
            raise DisplayError(f"{config.framebuffer}: {type(exc).__name__}") from exc
    try:
        # The service user needs the tty group (or a udev rule) to write a console.
        stream = open(config.tty, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
    except OSError as exc:
        raise DisplayError(f"{config.tty}: {exc.strerror}") from exc
    return ConsoleSurface(stream, owns_stream=True)
