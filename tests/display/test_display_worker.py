"""The display thread: hand-off without waiting, clearing on time, faults reported without names."""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("luma.core.device", reason="needs the display extra (luma.oled)")
from luma.core.device import dummy
from support.display import NOW, Passes, passes

from scanner.display.console import ConsoleSurface
from scanner.display.oled import OledSurface
from scanner.display.screen import Kind, Locale, Screen, UnitStatus
from scanner.display.worker import ScreenDisplay
from scanner.model import ClockState, Fill, Health, TrustState

VI = Locale("vi", 420, "CP-HN-01")
Console = tuple[ScreenDisplay, ConsoleSurface, "Drawn"]
NAME = "NGUYỄN VĂN AN"


@pytest.fixture(scope="module")
def p() -> Passes:
    return passes()


class Drawn:
    """Collects what the display thread drew, in order."""

    def __init__(self) -> None:
        self.screens: queue.Queue[Screen] = queue.Queue()
        self.at: list[float] = []  # monotonic time each screen became visible

    def __call__(self, screen: Screen) -> None:
        self.at.append(time.monotonic())
        self.screens.put(screen)

    def next(self, timeout: float = 3.0) -> Screen:
        return self.screens.get(timeout=timeout)


class GatedSurface:
    """A panel stuck on its bus until the gate opens (a hung I2C transfer)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.drawn: list[Screen] = []

    def draw(self, screen: Screen) -> None:
        self.gate.wait(5.0)
        self.drawn.append(screen)

    def close(self) -> None:
        pass


class BrokenSurface:
    """A panel that fails every draw, with the screen's text in its error, as drivers might."""

    def __init__(self) -> None:
        self.attempts = 0

    def draw(self, screen: Screen) -> None:
        self.attempts += 1
        raise OSError(f"I2C write failed while drawing {screen.text!r}")

    def close(self) -> None:
        pass


@pytest.fixture
def console() -> Iterator[Console]:
    surface = ConsoleSurface(io.StringIO(), size=(40, 12))
    drawn = Drawn()
    display = ScreenDisplay(surface, VI, clear_after_s=0.3, on_drawn=drawn)
    assert drawn.next().kind is Kind.STATUS  # the ready screen at start
    yield display, surface, drawn
    display.close()


def test_verdict_is_shown_then_cleared_after_the_timeout(console: Console, p: Passes) -> None:
    display, surface, drawn = console
    display.show(p.verdict("valid"))
    assert drawn.next().kind is Kind.VERDICT
    assert NAME in surface.text
    cleared = drawn.next()
    assert cleared.kind is Kind.STATUS
    assert drawn.at[-1] - drawn.at[-2] >= 0.3  # visible for the whole clear_after_s
    assert NAME not in surface.text
    assert "1234" not in surface.text
    assert "SẴN SÀNG" in surface.text


def test_oled_clears_to_the_ready_screen(p: Passes) -> None:
    device = dummy(width=128, height=64, mode="1")
    drawn = Drawn()
    display = ScreenDisplay(OledSurface(device), VI, clear_after_s=0.2, on_drawn=drawn)
    try:
        drawn.next()
        ready = device.image.copy()
        display.show(p.verdict("valid"))
        drawn.next()
        assert device.image.tobytes() != ready.tobytes()
        assert drawn.next().kind is Kind.STATUS
        assert device.image.tobytes() == ready.tobytes()  # nothing of the pass remains
    finally:
        display.close()


def test_clear_returns_to_the_ready_screen_at_once(console: Console, p: Passes) -> None:
    display, surface, drawn = console
    display.show(p.verdict("valid"))
    drawn.next()
    display.clear()
    assert drawn.next(timeout=0.2).kind is Kind.STATUS
    assert NAME not in surface.text


def test_unreadable_never_cuts_a_verdict_short(console: Console, p: Passes) -> None:
    display, surface, drawn = console
    display.show(p.verdict("revoked"))
    drawn.next()
    display.show_unreadable()
    assert drawn.next().kind is Kind.STATUS  # the verdict ran its time; no unreadable screen
    display.show_unreadable()
    assert drawn.next().kind is Kind.UNREADABLE
    assert "giữ yên" in surface.text


def test_degraded_state_reaches_the_ready_screen(console: Console) -> None:
    display, surface, drawn = console
    stale = Health(True, TrustState.STALE, ClockState.SYNCED, Fill.OK)
    display.set_status(UnitStatus(stale))
    drawn.next()
    assert "Dữ liệu xác thực đã cũ" in surface.text
    display.set_status(UnitStatus(stale))  # the same state again: no redraw
    with pytest.raises(queue.Empty):
        drawn.next(timeout=0.2)


def test_newest_verdict_wins_and_the_scan_thread_never_waits(p: Passes) -> None:
    surface = GatedSurface()
    display = ScreenDisplay(surface, VI, clear_after_s=5.0)
    try:
        verdicts = [p.verdict(name) for name in ("expired", "revoked", "forged", "valid")]
        # The panel is hung (its gate is closed): were a hand-off to wait for it, this
        # loop would never end. Every call returns, and nothing was drawn meanwhile.
        for _ in range(250):
            for verdict in verdicts:
                display.show(verdict)
        assert len(surface.drawn) == 0
        surface.gate.set()
        deadline = time.monotonic() + 3
        while len(surface.drawn) < 2 and time.monotonic() < deadline:
            surface.gate.wait(0.01)
        assert surface.drawn[0].kind is Kind.STATUS
        assert NAME in surface.drawn[1].text  # only the last verdict, not a backlog
        assert len(surface.drawn) == 2
    finally:
        surface.gate.set()
        display.close()


def test_a_failing_panel_is_reported_without_names(
    p: Passes, caplog: pytest.LogCaptureFixture
) -> None:
    faults: list[str] = []
    surface = BrokenSurface()
    caplog.set_level(logging.DEBUG)
    display = ScreenDisplay(surface, VI, clear_after_s=5.0, on_fault=faults.append)
    try:
        display.show(p.verdict("valid"))
        deadline = time.monotonic() + 3
        while surface.attempts < 2 and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert surface.attempts == 2
        assert display.failures == 2
        assert faults == ["failed:OSError", "failed:OSError"]
    finally:
        display.close()
    assert "display draw failed: OSError" in caplog.text
    assert NAME not in caplog.text
    assert "1234" not in caplog.text


def test_a_slow_panel_is_reported(p: Passes) -> None:
    faults: list[str] = []
    surface = GatedSurface()
    display = ScreenDisplay(surface, VI, clear_after_s=5.0, slow_draw_ms=20, on_fault=faults.append)
    try:
        threading.Event().wait(0.1)
        surface.gate.set()
        display.show(p.verdict("valid"))
        deadline = time.monotonic() + 3
        while not faults and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert faults[0] == "slow"
    finally:
        display.close()


def test_close_blanks_the_screen_and_stops_the_named_thread(p: Passes) -> None:
    stream = io.StringIO()
    drawn = Drawn()
    display = ScreenDisplay(
        ConsoleSurface(stream, size=(40, 12)), VI, clear_after_s=5, on_drawn=drawn
    )
    drawn.next()
    assert "display" in {t.name for t in threading.enumerate()}
    display.show(p.verdict("valid"))
    drawn.next()
    display.close()
    display.close()
    assert "display" not in {t.name for t in threading.enumerate()}
    assert stream.getvalue().endswith("\x1b[?25h")


def test_the_clock_on_the_ready_screen_is_the_wall_clock() -> None:
    surface = ConsoleSurface(io.StringIO(), size=(40, 12))
    drawn = Drawn()
    display = ScreenDisplay(surface, VI, clear_after_s=1, on_drawn=drawn, wall=lambda: NOW)
    try:
        drawn.next()
        assert "07:00 01/12/2026" in surface.text
    finally:
        display.close()
