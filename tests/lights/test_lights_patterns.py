"""The lights without a running indicator: config checks, the patterns themselves, verdict
signals, the terminal rendering and the choice of pin factory.
"""

from __future__ import annotations

import io
import itertools
import logging

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
from support.lights import AMBER, FAST, GREEN, RED

from scanner.lights.gpio import LampState, make_pin_factory
from scanner.lights.patterns import Channel, Pattern, signal_pattern, state_pattern
from scanner.lights.signals import LightsConfig, Signal, signal_for
from scanner.lights.terminal import TerminalIndicator, render_lamps
from scanner.model import (
    ClockState,
    DeviceState,
    Holder,
    Outcome,
    PassInfo,
    PassKind,
    Reason,
    Verdict,
)


@pytest.mark.parametrize(
    ("field", "value"),
    [("accept_hold_s", 0.0), ("reject_hold_s", -1.0), ("identify_s", float("nan"))],
)
def test_config_rejects_bad_times_naming_the_key(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"lights.{field}"):
        LightsConfig(green_pin=GREEN, red_pin=RED, **{field: value})  # type: ignore[arg-type]


def test_config_rejects_a_pin_used_twice() -> None:
    with pytest.raises(ValueError, match="must differ"):
        LightsConfig(green_pin=GREEN, red_pin=RED, buzzer_pin=GREEN)


def _merged_lamp(pattern: Pattern, seconds: float = 6.0, step: float = 0.01) -> tuple[bool, ...]:
    """What a viewer who cannot tell the lamps' colours sees: any lamp lit, over time."""
    samples = []
    for i in range(int(seconds / step)):
        state = pattern.state_at(i * step + step / 2)
        samples.append(state[Channel.GREEN] or state[Channel.RED] or state[Channel.AMBER])
    return tuple(samples)


@pytest.mark.parametrize("amber", [AMBER, None])
def test_every_pattern_is_distinguishable_without_colour(amber: int | None) -> None:
    config = LightsConfig(green_pin=GREEN, red_pin=RED, amber_pin=amber)
    seen = {s.value: _merged_lamp(signal_pattern(s, config)) for s in Signal}
    seen |= {s.value: _merged_lamp(state_pattern(s, config)) for s in DeviceState}
    for (a, ra), (b, rb) in itertools.combinations(seen.items(), 2):
        assert ra != rb, f"{a} and {b} look the same without colour"


def test_no_pattern_flashes_more_than_three_times_a_second() -> None:
    config = LightsConfig(green_pin=GREEN, red_pin=RED, amber_pin=AMBER)
    patterns = [signal_pattern(s, config) for s in Signal]
    patterns += [state_pattern(s, config) for s in DeviceState]
    for pattern in patterns:
        lamp = _merged_lamp(pattern)
        onsets = [i for i in range(1, len(lamp)) if lamp[i] and not lamp[i - 1]]
        onsets = ([0] if lamp[0] else []) + onsets
        for first, fourth in zip(onsets, onsets[3:], strict=False):
            assert fourth - first >= 100  # samples of 10 ms: 4 onsets span at least 1 s


def test_pattern_next_change_points_at_the_next_edge() -> None:
    reject = signal_pattern(Signal.REJECT, FAST)
    assert reject.next_change(0.0) == pytest.approx(0.2)
    assert reject.next_change(0.3) == pytest.approx(0.1)
    assert reject.next_change(0.5) == pytest.approx(0.1)
    assert reject.next_change(0.6) is None
    assert state_pattern(DeviceState.IDLE, FAST).next_change(0.0) is None
    fault = state_pattern(DeviceState.FAULT, FAST)
    assert fault.next_change(2.5) == pytest.approx(0.5)
    assert fault.state_at(3.5)[Channel.AMBER] is False


def _verdict(outcome: Outcome, kind: PassKind = PassKind.TRAVEL) -> Verdict:
    info = PassInfo("p1", "iss", b"k", kind, Holder("X", "1234"), 0, 0, 10)
    reason = None if outcome is Outcome.ACCEPT else Reason.EXPIRED
    return Verdict(outcome, reason, None, ClockState.PINNED, 5, info=info)


def test_signal_for_a_verdict() -> None:
    assert signal_for(_verdict(Outcome.ACCEPT)) is Signal.ACCEPT
    assert signal_for(_verdict(Outcome.REJECT)) is Signal.REJECT
    assert signal_for(_verdict(Outcome.ACCEPT, PassKind.TEST)) is Signal.TEST_CARD
    assert signal_for(_verdict(Outcome.REJECT, PassKind.TEST)) is Signal.REJECT


def test_render_lamps_reads_without_colour() -> None:
    lamps = LampState(green=True, red=False, amber=False, buzzer=True)
    assert render_lamps(lamps) == "[GREEN] [ red ] [amber] beep"
    assert render_lamps(LampState(False, True, None, None)) == "[green] [ RED ]"
    assert "\x1b[" in render_lamps(lamps, color=True)


def test_terminal_indicator_draws_the_mock_pins() -> None:
    out = io.StringIO()
    terminal = TerminalIndicator(FAST, out, color=False)
    terminal.show(Signal.ACCEPT)
    # Not a terminal: one plain line a change, no carriage return or escape.
    assert "[GREEN] [ red ] [amber] beep\n" in out.getvalue()
    assert "\r" not in out.getvalue()
    assert "\x1b" not in out.getvalue()
    assert terminal.gpio.lamps().green
    terminal.close()
    assert out.getvalue().endswith("\n")


def test_make_pin_factory_prefers_mock_when_asked() -> None:
    factory, is_mock = make_pin_factory(prefer_mock=True)
    assert is_mock
    assert isinstance(factory, MockFactory)


def test_make_pin_factory_falls_back_to_mock_off_a_pi_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    with caplog.at_level(logging.WARNING, logger="scanner.lights.gpio"):
        factory, is_mock = make_pin_factory(prefer_mock=False)
    if not is_mock:
        pytest.skip(f"a real pin library works here: {type(factory).__name__}")
    assert isinstance(factory, MockFactory)
    assert "MockFactory" in caplog.text
    assert "simulated" in caplog.text


def test_make_pin_factory_reports_an_explicit_mock_setting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    with caplog.at_level(logging.WARNING, logger="scanner.lights.gpio"):
        factory, is_mock = make_pin_factory(prefer_mock=False)
    assert is_mock
    assert isinstance(factory, MockFactory)
    assert "mock pins" in caplog.text
