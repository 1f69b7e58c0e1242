"""What the lights can say (signals, background states), the Indicator protocol, its config."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, fields
from typing import Protocol

from scanner.model import DeviceState, PassKind, Verdict

Pin = int | str  # a gpiozero pin name: 17, "GPIO17", "BOARD11", "J8:11"


class Signal(enum.StrEnum):
    """A one-shot pattern for one event; it preempts the background, which resumes after it."""

    ACCEPT = "accept"
    REJECT = "reject"
    UNREADABLE = "unreadable"  # a code was seen but could not be read: present it again
    TEST_CARD = "test_card"  # a technician's test card verified
    IDENTIFY = "identify"  # a technician asked the unit to show itself

    @property
    def is_verdict(self) -> bool:
        """Verdicts are never cut short by a lesser signal (UNREADABLE, IDENTIFY)."""
        return self in _VERDICTS


_VERDICTS = frozenset({Signal.ACCEPT, Signal.REJECT, Signal.TEST_CARD})


class Indicator(Protocol):
    """What the officer sees and hears; implementations must not block the caller."""

    def show(self, signal: Signal) -> None:
        """Show a signal now, preempting the background (and any lesser signal)."""

    def set_state(self, state: DeviceState) -> None:
        """Set the background; calling it again with the same state keeps the rhythm going."""

    def close(self) -> None:
        """Turn everything off and release the pins; idempotent."""


def signal_for(verdict: Verdict) -> Signal:
    """The signal for a verdict; a verified test card has its own, never mistaken for a pass."""
    if not verdict.accepted:
        return Signal.REJECT
    if verdict.info is not None and verdict.info.kind is PassKind.TEST:
        return Signal.TEST_CARD
    return Signal.ACCEPT


@dataclass(frozen=True, slots=True)
class LightsConfig:
    """Pins and timings of the lights; times in seconds. `None` means the part is not fitted."""

    green_pin: Pin
    red_pin: Pin
    amber_pin: Pin | None = None
    buzzer_pin: Pin | None = None
    active_high: bool = True  # False for the usual active-low relay boards driving a light tower
    buzzer_active_high: bool = True
    accept_hold_s: float = 2.0
    reject_hold_s: float = 3.0
    test_card_hold_s: float = 3.0
    identify_s: float = 10.0
    short_beep_s: float = 0.1
    long_beep_s: float = 0.8

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name.endswith("_s"):
                value = getattr(self, f.name)
                if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                    raise ValueError(f"lights.{f.name}: must be a positive number of seconds")
        if self.short_beep_s > self.accept_hold_s:
            raise ValueError("lights.short_beep_s: must not be longer than accept_hold_s")
        if self.long_beep_s > self.reject_hold_s:
            raise ValueError("lights.long_beep_s: must not be longer than reject_hold_s")
        pins = [
            p
            for p in (self.green_pin, self.red_pin, self.amber_pin, self.buzzer_pin)
            if p is not None
        ]
        if len({str(p) for p in pins}) != len(pins):
            raise ValueError("lights: green_pin, red_pin, amber_pin and buzzer_pin must differ")
