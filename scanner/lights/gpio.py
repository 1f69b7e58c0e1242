"""The gpiozero adapter: drives the lamps and buzzer through one named pattern thread."""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpiozero import LED, Buzzer, Device, DigitalOutputDevice
from gpiozero.exc import BadPinFactory, GPIOZeroError, PinFactoryFallback
from gpiozero.pins.mock import MockFactory

from scanner.lights.patterns import Channel, Pattern, signal_pattern, state_pattern
from scanner.lights.signals import LightsConfig, Signal
from scanner.model import DeviceState

logger = logging.getLogger(__name__)

_MIN_WAIT_S = 0.001  # a wake-up a hair early must not become a busy loop


def make_pin_factory(prefer_mock: bool) -> tuple[Any, bool]:
    """A gpiozero pin factory and whether it is a mock; off a Pi, the mock, with a warning.

    gpiozero tries lgpio, RPi.GPIO, pigpio and its native factory in turn (or the
    one named by GPIOZERO_PIN_FACTORY), warning PinFactoryFallback for each that
    fails and raising BadPinFactory when none works; that is the "not on a Pi" case.
    """
    if prefer_mock:
        logger.info("lights: using gpiozero's MockFactory as configured; no pins are driven")
        return MockFactory(), True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PinFactoryFallback)
        try:
            Device.ensure_pin_factory()
            factory = Device.pin_factory
        except BadPinFactory:
            factory = None
    reasons = "; ".join(str(w.message) for w in caught)
    if factory is None:
        logger.warning(
            "lights: no GPIO library works here (%s); falling back to gpiozero's MockFactory, "
            "so the lights are simulated and nothing is shown to the officer",
            reasons or "no factory",
        )
        return MockFactory(), True
    if isinstance(factory, MockFactory):
        logger.warning("lights: gpiozero is set to mock pins; nothing is shown to the officer")
        return factory, True
    if reasons:
        logger.info("lights: using %s after: %s", type(factory).__name__, reasons)
    return factory, False


@dataclass(frozen=True, slots=True)
class LampState:
    """What the outputs are doing right now; None for a part that is not fitted."""

    green: bool
    red: bool
    amber: bool | None
    buzzer: bool | None


class GpioIndicator:
    """An Indicator on gpiozero LEDs (or relays) and a buzzer.

    `show()` sets the pins before it returns, so frame-to-light latency does not
    include a thread hand-off; the rest of each pattern is played by one thread
    named "lights" that waits on an Event between changes (never a sleep loop).
    A verdict preempts anything; UNREADABLE and IDENTIFY never cut a verdict short.
    `on_change` is called with the new LampState after each change, under the
    indicator's lock: it must be quick and must not call back into the indicator.
    """

    def __init__(
        self,
        config: LightsConfig,
        pin_factory: Any = None,
        *,
        on_change: Callable[[LampState], None] | None = None,
    ) -> None:
        self.config = config
        self._on_change = on_change
        self._devices: dict[Channel, DigitalOutputDevice] = {}
        try:
            self._add(Channel.GREEN, LED, config.green_pin, config.active_high, pin_factory)
            self._add(Channel.RED, LED, config.red_pin, config.active_high, pin_factory)
            self._add(Channel.AMBER, LED, config.amber_pin, config.active_high, pin_factory)
            self._add(
                Channel.BUZZER, Buzzer, config.buzzer_pin, config.buzzer_active_high, pin_factory
            )
        except BaseException:
            self._close_devices()
            raise
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._written: dict[Channel, bool] = dict.fromkeys(self._devices, False)
        self._state = DeviceState.IDLE
        self._background = state_pattern(DeviceState.IDLE, config)
        self._background_start = time.monotonic()
        self._signal: Signal | None = None
        self._foreground: Pattern | None = None
        self._foreground_start = 0.0
        self._deferred: Signal | None = None  # shown when the current verdict ends
        self._gpio_failed = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lights", daemon=True)
        self._thread.start()

    def _add(
        self, channel: Channel, kind: type[DigitalOutputDevice], pin: object, high: bool, pf: Any
    ) -> None:
        if pin is not None:
            device = kind(pin, active_high=high, initial_value=False, pin_factory=pf)
            self._devices[channel] = device

    def show(self, signal: Signal) -> None:
        """Start `signal` now; the pins are set when this returns."""
        now = time.monotonic()
        with self._lock:
            if self._closed:
                return
            self._expire_locked(now)
            if self._signal is not None and self._signal.is_verdict and not signal.is_verdict:
                # A technician's identify request must still be seen: it follows the
                # verdict. "Unreadable" would be stale by then, so it is dropped.
                if signal is Signal.IDENTIFY:
                    self._deferred = signal
                else:
                    logger.debug("lights: %s dropped; %s is still showing", signal, self._signal)
                return
            self._signal = signal
            self._foreground = signal_pattern(signal, self.config)
            self._foreground_start = now
            self._render_locked(now)
        self._wake.set()

    def set_state(self, state: DeviceState) -> None:
        """Set the background; it shows at once unless a signal is showing."""
        now = time.monotonic()
        with self._lock:
            if self._closed or state is self._state:
                return
            logger.info("lights: background %s -> %s", self._state, state)
            self._state = state
            self._background = state_pattern(state, self.config)
            self._background_start = now
            self._render_locked(now)
        self._wake.set()

    @property
    def state(self) -> DeviceState:
        """The background state last set."""
        return self._state

    def lamps(self) -> LampState:
        """The outputs as the pins report them (on mock pins: the mock pin states)."""
        with self._lock:
            return self._lamps_locked()

    def close(self) -> None:
        """Stop the pattern thread, turn everything off and release the pins."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stopping.set()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        self._close_devices()

    def __enter__(self) -> GpioIndicator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before rendering, so a change made meanwhile wakes us again
            with self._lock:
                if self._closed:
                    break
                delay = self._render_locked(time.monotonic())
            if delay is not None:
                delay = max(delay, _MIN_WAIT_S)
            self._wake.wait(delay)

    def _expire_locked(self, now: float) -> None:
        """End a signal that has run its length; the background restarts from its beginning."""
        if self._foreground is not None:
            end = self._foreground_start + self._foreground.length
            if now >= end:
                self._signal = None
                self._foreground = None
                self._background_start = end
                if self._deferred is not None:
                    self._signal, self._deferred = self._deferred, None
                    self._foreground = signal_pattern(self._signal, self.config)
                    self._foreground_start = end

    def _render_locked(self, now: float) -> float | None:
        """Set the pins for `now`; returns the seconds until the next change (None: never)."""
        self._expire_locked(now)
        if self._foreground is not None:
            pattern, t = self._foreground, now - self._foreground_start
        else:
            pattern, t = self._background, now - self._background_start
        wanted = pattern.state_at(t)
        changed = False
        for channel, device in self._devices.items():
            if self._written[channel] != wanted[channel]:
                self._write(device, wanted[channel])
                self._written[channel] = wanted[channel]
                changed = True
        if changed and self._on_change is not None:
            self._on_change(self._lamps_locked())
        delay = pattern.next_change(t)
        if self._foreground is not None and delay is None:
            delay = self._foreground.length - t
        return delay

    def _write(self, device: DigitalOutputDevice, on: bool) -> None:
        try:
            if on:
                device.on()
            else:
                device.off()
        except GPIOZeroError:
            # One bad write must not stop the lights for good; say so once.
            if not self._gpio_failed:
                logger.exception("lights: writing a pin failed; carrying on")
                self._gpio_failed = True

    def _lamps_locked(self) -> LampState:
        def get(channel: Channel) -> bool | None:
            device = self._devices.get(channel)
            return None if device is None or device.closed else bool(device.is_active)

        return LampState(
            green=bool(get(Channel.GREEN)),
            red=bool(get(Channel.RED)),
            amber=get(Channel.AMBER),
            buzzer=get(Channel.BUZZER),
        )

    def _close_devices(self) -> None:
        for device in self._devices.values():
            try:
                device.off()
            except GPIOZeroError:
                logger.warning("lights: could not switch %r off", device)
            device.close()
        self._devices.clear()
