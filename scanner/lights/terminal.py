"""Mock lights drawn as one terminal line, for the demo and for a bench without a Pi."""

from __future__ import annotations

import sys
from typing import TextIO

from scanner.lights.gpio import GpioIndicator, LampState, make_pin_factory
from scanner.lights.signals import LightsConfig, Signal
from scanner.model import DeviceState

_ANSI = {"green": "\x1b[1;32m", "red": "\x1b[1;31m", "amber": "\x1b[1;33m"}
_RESET = "\x1b[0m"


def render_lamps(lamps: LampState, *, color: bool = False) -> str:
    """One line such as "[GREEN] [ red ] [amber] beep": upper case means lit.

    Case and the word "beep" carry the meaning, so the line reads the same
    without colour; `color` only adds ANSI colour to lit lamps.
    """
    parts = [_lamp("green", lamps.green, color), _lamp("red", lamps.red, color)]
    if lamps.amber is not None:
        parts.append(_lamp("amber", lamps.amber, color))
    if lamps.buzzer is not None:
        parts.append("beep" if lamps.buzzer else "    ")
    return " ".join(parts)


def _lamp(name: str, lit: bool, color: bool) -> str:
    label = f"[{(name.upper() if lit else name).center(5)}]"
    return f"{_ANSI[name]}{label}{_RESET}" if lit and color else label


class TerminalIndicator:
    """An Indicator on gpiozero mock pins that redraws one terminal line on every change."""

    def __init__(
        self, config: LightsConfig, stream: TextIO | None = None, *, color: bool | None = None
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._tty = self._stream.isatty()
        self._color = self._tty if color is None else color
        # Drawn in the terminal, so mock pins whatever lights.pins says.
        self.gpio = GpioIndicator(config, make_pin_factory("mock"), on_change=self._draw)

    def show(self, signal: Signal) -> None:
        """Show `signal` on the lamps and redraw the line."""
        self.gpio.show(signal)

    def set_state(self, state: DeviceState) -> None:
        """Show the device state on the lamps and redraw the line."""
        self.gpio.set_state(state)

    def close(self) -> None:
        """Turn the lamps off and end the line."""
        self.gpio.close()
        if self._tty:
            self._stream.write("\n")
        self._stream.flush()

    def _draw(self, lamps: LampState) -> None:
        if self._tty:
            # "\r" and clear-to-end redraw the same line; other output may interleave.
            self._stream.write("\r" + render_lamps(lamps, color=self._color) + "\x1b[K")
        else:
            # A pipe or a file gets one plain line per change: no control characters.
            self._stream.write(render_lamps(lamps, color=False) + "\n")
        self._stream.flush()
