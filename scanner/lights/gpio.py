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

from scanner.errors import LightsUnavailableError
from scanner.lights.patterns import Channel, Pattern, signal_pattern, state_pattern
from scanner.lights.signals import LightsConfig, PinMode, Signal
from scanner.model import DeviceState

logger = logging.getLogger(__name__)

_MIN_WAIT_S = 0.001  # a wake-up a hair early must not become a busy loop


def make_pin_factory(pins: PinMode) -> Any:
    """The gpiozero pin factory `[lights] pins` asks for; never a mock unless it says "mock".

    gpiozero tries lgpio, RPi.GPIO, pigpio and its native factory in turn (or the
    one named by GPIOZERO_PIN_FACTORY), warning PinFactoryFallback for each that
    fails and raising BadPinFactory when none works. Falling back to mock pins
    there would give a unit that scans and logs while no lamp ever lights, so
    that is LightsUnavailableError, with every factory's reason on one line.
    """
    if pins == "mock":
        logger.warning('lights: mock pins as configured (lights.pins = "mock"); nothing lights')
        return MockFactory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PinFactoryFallback)
        try:
            Device.ensure_pin_factory()
            factory = Device.pin_factory
        except Exception as exc:  # noqa: BLE001 - as gpiozero's own fallback: any failure is "no"
            factory, failure = None, str(exc) if isinstance(exc, BadPinFactory) else repr(exc)
    reasons = "; ".join(str(w.message) for w in caught)
    if factory is None:
        detail = " ".join((f"{reasons}; {failure}" if reasons else failure).split())
        raise LightsUnavailableError(f"no GPIO pin factory works ({detail})")
    if isinstance(factory, MockFactory):
        raise LightsUnavailableError('gpiozero is set to mock pins but lights.pins is "gpio"')
    if reasons:
        logger.info("lights: using %s after: %s", type(factory).__name__, " ".join(reasons.split()))
    return factory


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
        except GPIOZeroError as exc:
            self._close_devices()
            raise LightsUnavailableError(f"cannot drive the pins: {exc}") from exc
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
        self._due: float | None = None  # when the pattern on the pins next changes
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
            self._due = None
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
            self._due = None
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
        self._resume_locked(now)
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
        # The wait in _run is never shorter than _MIN_WAIT_S: resuming from an unclamped
        # due time would give back each wait's progress at an edge, and stand still.
        self._due = now + max(delay, _MIN_WAIT_S) if delay is not None else None
        return delay

    def _resume_locked(self, now: float) -> None:
        """After a late wake-up, go on from where the pattern was due, skipping no phase.

        A pattern is read by its count of flashes and beeps (three beeps: a test
        card), so a CPU stall longer than a short beep must delay the rest of
        the rhythm, not drop a beep from it.
        """
        if self._due is None or now <= self._due:
            return
        late = now - self._due
        if self._foreground is not None:
            self._foreground_start += late
        else:
            self._background_start += late

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
