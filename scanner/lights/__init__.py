"""The officer's lights: the Indicator protocol, its signals and states, and its gpiozero driver."""

from scanner.lights.gpio import GpioIndicator, LampState, LightsUnavailableError, make_pin_factory
from scanner.lights.patterns import Channel, Pattern, signal_pattern, state_pattern
from scanner.lights.signals import (
    DeviceState,
    Indicator,
    LightsConfig,
    PinMode,
    Signal,
    signal_for,
)
from scanner.lights.terminal import TerminalIndicator, render_lamps

__all__ = [
    "Channel",
    "DeviceState",
    "GpioIndicator",
    "Indicator",
    "LampState",
    "LightsConfig",
    "LightsUnavailableError",
    "Pattern",
    "PinMode",
    "Signal",
    "TerminalIndicator",
    "make_pin_factory",
    "render_lamps",
    "signal_for",
    "signal_pattern",
    "state_pattern",
]
