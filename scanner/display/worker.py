"""The display thread: verdicts arrive through a one-slot mailbox, are drawn, and clear on time.

The scan thread only stores a reference and sets an Event (microseconds, see
`bench display`); composing and drawing, which take milliseconds on a Pi and
block on I2C, happen here. A failed or slow draw is reported without any of
the screen's content and the thread carries on.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

from scanner.display.base import Surface
from scanner.display.screen import Kind, Locale, Screen, UnitStatus, compose
from scanner.model import Verdict

log = logging.getLogger(__name__)


class _Ask(enum.Enum):
    UNREADABLE = "unreadable"
    CLEAR = "clear"


class ScreenDisplay:
    """A Display over one Surface, drawn from its own named thread."""

    def __init__(
        self,
        surface: Surface,
        locale: Locale,
        *,
        clear_after_s: float,
        slow_draw_ms: float = 500.0,
        on_fault: Callable[[str], None] | None = None,
        on_drawn: Callable[[Screen], None] | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._surface = surface
        self._locale = locale
        self._clear_after_s = clear_after_s
        self._slow_draw_ms = slow_draw_ms
        self._on_fault = on_fault
        self._on_drawn = on_drawn
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._mail: Verdict | _Ask | None = None
        self._status = UnitStatus()
        self._status_changed = True
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.draws = 0
        self.failures = 0
        self.last_draw_ms: float | None = None
        self._last_screen: Screen | None = None
        self._thread = threading.Thread(target=self._run, name="display", daemon=True)
        self._thread.start()

    # -- called from the scan thread: store and signal, nothing else ----------------

    def show(self, verdict: Verdict) -> None:
        """Show the verdict on the display thread."""
        self._post(verdict)

    def show_unreadable(self) -> None:
        """Show that a code was seen but could not be read."""
        self._post(_Ask.UNREADABLE)

    def clear(self) -> None:
        """Go back to the unit's status screen."""
        self._post(_Ask.CLEAR)

    def set_status(self, status: UnitStatus) -> None:
        """Update the status screen when the status changes."""
        with self._lock:
            if status == self._status:
                return
            self._status = status
            self._status_changed = True
        self._wake.set()

    def close(self) -> None:
        """Stop the display thread and release the panel."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5.0)
        if self._thread.is_alive():
            log.warning("display thread did not stop within 5 s (panel hung?)")

    def _post(self, mail: Verdict | _Ask) -> None:
        with self._lock:
            # One slot: a verdict not yet drawn is replaced by a newer one, since
            # the officer needs the pass in front of them, not a queue of old ones.
            self._mail = mail
        self._wake.set()

    # -- the display thread ---------------------------------------------------------

    def _run(self) -> None:
        showing = Kind.STATUS
        deadline: float | None = None  # monotonic time the verdict on screen clears
        self._draw(self._take()[1])
        while not self._stop.is_set():
            if deadline is None:
                # Wake on the minute so the ready screen's clock and "offline for" stay true.
                timeout = 60.0 - self._wall() % 60.0 + 0.05
            else:
                timeout = max(0.0, deadline - self._monotonic())
            woke = self._wake.wait(timeout)
            if self._stop.is_set():
                break
            mail, status, changed = self._take()
            redraw_status = changed or not woke
            if deadline is not None and self._monotonic() >= deadline:
                showing, deadline, redraw_status = Kind.STATUS, None, True
            if mail is _Ask.CLEAR:
                showing, deadline, redraw_status = Kind.STATUS, None, True
            elif isinstance(mail, Verdict):
                self._draw(mail)
                # Counted from when it became visible: a slow panel still shows it in full.
                showing, deadline = Kind.VERDICT, self._monotonic() + self._clear_after_s
                continue
            elif mail is _Ask.UNREADABLE and showing is not Kind.VERDICT:
                self._draw(None)
                showing, deadline = Kind.UNREADABLE, self._monotonic() + self._clear_after_s
                continue
            if deadline is None and redraw_status:
                self._draw(status)
        self._close_surface()

    def _take(self) -> tuple[Verdict | _Ask | None, UnitStatus, bool]:
        self._wake.clear()  # before reading, so a post after this read wakes the next wait
        with self._lock:
            mail, self._mail = self._mail, None
            changed, self._status_changed = self._status_changed, False
            return mail, self._status, changed

    def _draw(self, subject: Verdict | UnitStatus | None) -> None:
        started = self._monotonic()
        try:
            screen = compose(subject, self._locale, self._wall())
            if not isinstance(subject, Verdict) and screen == self._last_screen:
                return  # the same ready screen again (a status that changed nothing shown)
            self._last_screen = screen
            self._surface.draw(screen)
        except Exception as exc:  # noqa: BLE001 - a broken panel must never stop the unit
            self.failures += 1
            # The type only: a message could quote what was being drawn.
            log.warning("display draw failed: %s", type(exc).__name__)
            self._report(f"failed:{type(exc).__name__}")
            return
        self.draws += 1
        self.last_draw_ms = (self._monotonic() - started) * 1000
        if self.last_draw_ms > self._slow_draw_ms:
            log.warning("display draw took %.0f ms", self.last_draw_ms)
            self._report("slow")
        if self._on_drawn is not None:
            self._on_drawn(screen)

    def _report(self, fault: str) -> None:
        if self._on_fault is None:
            return
        try:
            self._on_fault(fault)
        except Exception:
            log.exception("display fault callback failed")

    def _close_surface(self) -> None:
        try:
            self._surface.close()
        except Exception as exc:  # noqa: BLE001 - stopping goes on regardless
            log.warning("display close failed: %s", type(exc).__name__)
