"""The lights on gpiozero's own MockFactory: pin states over time for every signal and state."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin
from support.lights import AMBER, BUZZER, FAST, GREEN, RED

from scanner.lights.gpio import GpioIndicator, LampState
from scanner.lights.signals import Indicator, LightsConfig, Signal
from scanner.model import DeviceState

WAIT_S = 10.0  # generous: only a hung pattern thread should ever reach it
STALL_S = 0.4  # longer than the test card's remaining beeps and its hold


class Rig:
    """An indicator on mock pins, with a condition notified on every pin change."""

    def __init__(
        self,
        config: LightsConfig,
        pin_class: type[MockPin] = MockPin,
        stall_at_beep: int | None = None,
    ) -> None:
        self.factory = MockFactory(pin_class=pin_class)
        self.changed = threading.Condition()
        self._stall_at_beep = stall_at_beep
        self._beeps = 0
        self.indicator = GpioIndicator(config, self.factory, on_change=self._on_change)

    def _on_change(self, lamps: LampState) -> None:
        if lamps.buzzer:
            self._beeps += 1
            if self._beeps == self._stall_at_beep:
                # The lights thread held up as a loaded CPU holds it: longer than a beep.
                time.sleep(STALL_S)
        with self.changed:
            self.changed.notify_all()

    def pin(self, number: int) -> MockPin:
        pin: MockPin = self.factory.pin(number)
        return pin

    def on(self, number: int) -> bool:
        return bool(self.pin(number).state)

    def lit(self) -> set[int]:
        return {n for n in (GREEN, RED, AMBER, BUZZER) if self.on(n)}

    def wait_for(self, predicate: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout=WAIT_S), f"pins stuck at {self.lit()}"

    def history(self, number: int) -> list[bool]:
        return [s.state for s in self.pin(number).states]

    def on_times(self, number: int) -> list[float]:
        """How long each "on" lasted, from the mock pin's recorded changes."""
        states = self.pin(number).states
        return [b.timestamp for a, b in itertools.pairwise(states) if a.state and not b.state]


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig(FAST)
    yield r
    r.indicator.close()


def test_gpio_indicator_is_an_indicator() -> None:
    def takes(_: Indicator) -> None: ...

    r = Rig(FAST)
    takes(r.indicator)
    r.indicator.close()


def test_idle_is_all_off(rig: Rig) -> None:
    assert rig.lit() == set()
    assert rig.indicator.state is DeviceState.IDLE


def test_accept_lights_green_with_a_short_beep_then_goes_dark(rig: Rig) -> None:
    rig.indicator.show(Signal.ACCEPT)
    assert rig.lit() == {GREEN, BUZZER}  # set before show() returns
    rig.wait_for(lambda: not rig.on(BUZZER))
    assert rig.lit() == {GREEN}
    rig.wait_for(lambda: not rig.on(GREEN))
    assert rig.history(GREEN) == [False, True, False]
    assert rig.history(BUZZER) == [False, True, False]
    assert rig.history(RED) == [False]
    assert rig.history(AMBER) == [False]
    (green_on,) = rig.on_times(GREEN)
    (beep,) = rig.on_times(BUZZER)
    assert green_on >= FAST.accept_hold_s - 0.02
    assert beep >= FAST.short_beep_s - 0.02
    assert beep < green_on


def test_reject_flashes_red_with_a_long_beep(rig: Rig) -> None:
    rig.indicator.show(Signal.REJECT)
    assert rig.lit() == {RED, BUZZER}
    rig.wait_for(lambda: len(rig.history(RED)) == 5)
    # 0.6 s of 0.2 on / 0.2 off: on, off, on, then the end: off.
    assert rig.history(RED) == [False, True, False, True, False]
    assert rig.history(GREEN) == [False]
    assert rig.history(BUZZER) == [False, True, False]
    assert rig.on_times(BUZZER)[0] >= FAST.long_beep_s - 0.02


def test_reject_beep_is_longer_than_accept_beep(rig: Rig) -> None:
    rig.indicator.show(Signal.ACCEPT)
    rig.wait_for(lambda: rig.lit() == set())
    rig.indicator.show(Signal.REJECT)
    rig.wait_for(lambda: rig.lit() == set())
    short, long = rig.on_times(BUZZER)
    assert long > short


def test_unreadable_double_blinks_the_amber_lamp_silently(rig: Rig) -> None:
    rig.indicator.show(Signal.UNREADABLE)
    assert rig.lit() == {AMBER}
    rig.wait_for(lambda: len(rig.history(AMBER)) == 5)
    assert rig.history(AMBER) == [False, True, False, True, False]
    assert rig.history(BUZZER) == [False]
    assert rig.history(GREEN) == rig.history(RED) == [False]


def test_unreadable_without_amber_blinks_green_and_red_together() -> None:
    r = Rig(LightsConfig(green_pin=GREEN, red_pin=RED))
    try:
        r.indicator.show(Signal.UNREADABLE)
        assert r.lit() == {GREEN, RED}
        r.wait_for(lambda: len(r.history(GREEN)) == 5 and len(r.history(RED)) == 5)
        assert r.history(GREEN) == r.history(RED) == [False, True, False, True, False]
        assert r.indicator.lamps() == LampState(green=False, red=False, amber=None, buzzer=None)
    finally:
        r.indicator.close()


def test_test_card_has_its_own_long_short_pattern_and_three_beeps(rig: Rig) -> None:
    rig.indicator.show(Signal.TEST_CARD)
    assert rig.lit() == {GREEN, RED, BUZZER}
    rig.wait_for(lambda: len(rig.history(BUZZER)) == 7)
    assert rig.history(BUZZER) == [False, True, False, True, False, True, False]
    rig.wait_for(lambda: rig.lit() == set())
    assert rig.history(GREEN) == rig.history(RED) == [False, True, False]  # 0.6 on > 0.5 hold


def test_a_stalled_lights_thread_delays_the_rhythm_and_drops_no_beep() -> None:
    r = Rig(FAST, stall_at_beep=2)
    try:
        r.indicator.show(Signal.TEST_CARD)
        r.wait_for(lambda: len(r.history(BUZZER)) == 7)
        assert r.history(BUZZER) == [False, True, False, True, False, True, False]
        on = r.on_times(BUZZER)
        assert on[1] >= STALL_S  # the stalled beep lasted the stall; the third still came
    finally:
        r.indicator.close()


def test_identify_bursts_all_lamps_with_a_chirp(rig: Rig) -> None:
    rig.indicator.show(Signal.IDENTIFY)
    assert rig.lit() == {GREEN, RED, AMBER, BUZZER}
    rig.wait_for(lambda: len(rig.history(AMBER)) >= 7)
    for lamp in (GREEN, RED, AMBER):
        assert rig.history(lamp)[:7] == [False, True, False, True, False, True, False]
    assert rig.history(BUZZER)[:3] == [False, True, False]
    assert rig.on_times(BUZZER)[0] < rig.on_times(AMBER)[0]


def test_degraded_blips_amber_every_few_seconds(rig: Rig) -> None:
    rig.indicator.set_state(DeviceState.DEGRADED)
    assert rig.lit() == {AMBER}
    rig.wait_for(lambda: not rig.on(AMBER))
    (blip,) = rig.on_times(AMBER)
    assert blip >= 0.2 - 0.02
    rig.indicator.set_state(DeviceState.DEGRADED)  # same state again: the rhythm is not restarted
    assert not rig.on(AMBER)


def test_fault_blinks_amber_slowly_and_evenly(rig: Rig) -> None:
    rig.indicator.set_state(DeviceState.FAULT)
    assert rig.lit() == {AMBER}
    rig.wait_for(lambda: len(rig.history(AMBER)) >= 4)
    assert rig.history(AMBER)[:4] == [False, True, False, True]
    on, off = rig.pin(AMBER).states[2].timestamp, rig.pin(AMBER).states[3].timestamp
    assert on >= 1.0 - 0.02
    assert off >= 1.0 - 0.02
    assert rig.history(GREEN) == rig.history(RED) == rig.history(BUZZER) == [False]


def test_a_verdict_preempts_the_background_at_once_and_the_background_resumes(rig: Rig) -> None:
    rig.indicator.set_state(DeviceState.FAULT)
    assert rig.lit() == {AMBER}
    rig.indicator.show(Signal.REJECT)
    assert rig.lit() == {RED, BUZZER}  # amber off before show() returned
    rig.wait_for(lambda: rig.lit() == {AMBER})  # fault pattern back, from its start (lit)
    assert rig.history(RED)[-1] is False
    assert rig.indicator.state is DeviceState.FAULT


def test_a_state_set_during_a_verdict_shows_after_it(rig: Rig) -> None:
    rig.indicator.show(Signal.ACCEPT)
    rig.indicator.set_state(DeviceState.DEGRADED)
    assert rig.lit() == {GREEN, BUZZER}
    rig.wait_for(lambda: rig.lit() == {AMBER})
    assert rig.history(GREEN) == [False, True, False]


def test_back_to_idle_turns_the_background_off(rig: Rig) -> None:
    rig.indicator.set_state(DeviceState.FAULT)
    rig.indicator.set_state(DeviceState.IDLE)
    assert rig.lit() == set()


def test_a_new_verdict_replaces_the_one_showing(rig: Rig) -> None:
    rig.indicator.show(Signal.ACCEPT)
    rig.indicator.show(Signal.REJECT)
    assert rig.lit() == {RED, BUZZER}
    rig.wait_for(lambda: rig.lit() == set())
    assert rig.history(GREEN) == [False, True, False]


def test_unreadable_never_cuts_a_verdict_short_and_is_dropped(rig: Rig) -> None:
    rig.indicator.show(Signal.ACCEPT)
    rig.indicator.show(Signal.UNREADABLE)
    assert rig.lit() == {GREEN, BUZZER}
    rig.wait_for(lambda: rig.lit() == set())
    assert rig.history(AMBER) == [False]
    assert rig.on_times(GREEN)[0] >= FAST.accept_hold_s - 0.02


def test_identify_during_a_verdict_waits_for_it_then_blinks(rig: Rig) -> None:
    shown = time.monotonic()
    rig.indicator.show(Signal.ACCEPT)
    rig.indicator.show(Signal.IDENTIFY)
    assert rig.lit() == {GREEN, BUZZER}
    rig.wait_for(lambda: AMBER in rig.lit())
    # The identify blink came after the whole accept hold, not in the middle of it.
    assert time.monotonic() - shown >= FAST.accept_hold_s - 0.02


def test_a_verdict_cuts_identify_short(rig: Rig) -> None:
    rig.indicator.show(Signal.IDENTIFY)
    rig.indicator.show(Signal.ACCEPT)
    assert rig.lit() == {GREEN, BUZZER}


def test_close_turns_everything_off_and_releases_the_pins(rig: Rig) -> None:
    rig.indicator.set_state(DeviceState.FAULT)
    rig.indicator.show(Signal.ACCEPT)
    rig.indicator.close()
    assert rig.lit() == set()
    rig.indicator.close()
    rig.indicator.show(Signal.REJECT)  # after close: ignored, not an error
    rig.indicator.set_state(DeviceState.DEGRADED)
    assert rig.lit() == set()
    again = GpioIndicator(FAST, rig.factory)  # the pins are free again
    again.close()
    assert not any(t.name == "lights" and t.is_alive() for t in threading.enumerate())


def test_active_low_outputs_are_inverted_on_the_pin() -> None:
    config = LightsConfig(green_pin=GREEN, red_pin=RED, active_high=False, accept_hold_s=0.2)
    r = Rig(config)
    try:
        assert r.on(GREEN)  # high = relay off
        assert r.on(RED)
        r.indicator.show(Signal.ACCEPT)
        assert not r.on(GREEN)
        assert r.indicator.lamps().green
        r.wait_for(lambda: r.on(GREEN))
    finally:
        r.indicator.close()


def test_works_on_pwm_capable_mock_pins_too() -> None:
    r = Rig(FAST, pin_class=MockPWMPin)
    try:
        r.indicator.show(Signal.ACCEPT)
        assert r.lit() == {GREEN, BUZZER}
    finally:
        r.indicator.close()


def test_a_pin_in_use_fails_construction_and_frees_the_others() -> None:
    factory = MockFactory()
    first = GpioIndicator(LightsConfig(green_pin=5, red_pin=6), factory)
    with pytest.raises(Exception, match="pin"):
        GpioIndicator(LightsConfig(green_pin=GREEN, red_pin=6), factory)
    first.close()
    GpioIndicator(LightsConfig(green_pin=GREEN, red_pin=6), factory).close()
