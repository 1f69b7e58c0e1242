"""The trusted clock: the system clock, never below a persisted floor that only moves forward.

A Pi 4 has no RTC: after a power cut it restarts from fake-hwclock's last save
or the image's build date, and an offline checkpoint may never reach NTP. So
expiry is judged on max(system clock, floor), where the floor is raised by
signed times (a bundle's issued_at, a verified pass's iat) and, while NTP
vouches for it, by the system clock itself. The floor is never raised from an
unsynced system clock: a clock set far ahead would otherwise expire every pass
for good.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from scanner.model import ClockState
from scanner.trust.files import atomic_write

log = logging.getLogger(__name__)

# systemd-timesyncd touches this file once the clock is synchronised.
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
PERSIST_EVERY = 600  # seconds of floor movement between writes, to spare the SD card


class Clock(Protocol):
    """What the verifier asks of a clock."""

    def now(self) -> tuple[int, ClockState]:
        """The trusted time in Unix seconds, and how far it can be trusted."""

    def observe(self, signed_time: int) -> None:
        """Raise the floor to a signed time seen in trust data."""


class PinnedClock:
    """A clock fixed at one instant (`scan --at`, tests)."""

    def __init__(self, at: int) -> None:
        self._at = at

    def now(self) -> tuple[int, ClockState]:
        """The pinned time."""
        return self._at, ClockState.PINNED

    def observe(self, signed_time: int) -> None:
        """A pinned clock ignores what it sees."""


def timesync_probe(flag: Path = TIMESYNC_FLAG) -> Callable[[], bool]:
    """A probe for whether systemd-timesyncd has synchronised the clock."""
    return flag.exists


class TrustedClock:
    """max(system clock, floor); the floor is persisted in `floor_path`."""

    def __init__(
        self,
        floor_path: Path,
        synced: Callable[[], bool],
        wall: Callable[[], float] = time.time,
        *,
        background: bool = False,
    ) -> None:
        self._path = floor_path
        self._synced = synced
        self._wall = wall
        self._lock = threading.Lock()
        self._floor = self._load()
        self._persisted = self._floor
        # The daemon's scan thread calls observe() for every accepted pass: with
        # `background`, the atomic write (two fsyncs, 1-10 ms on an SD card) runs
        # on the thread "clock-floor" instead, and observe() only raises a flag.
        self._background = background
        self._due = threading.Event()
        self._stopping = False
        self._writer: threading.Thread | None = None

    def _load(self) -> int:
        try:
            return int(self._path.read_text().strip())
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            # A torn floor file can only come from outside interference
            # (writes are atomic): start from zero and say so.
            log.warning("clock floor %s unreadable (%s); starting from 0", self._path, exc)
            return 0

    @property
    def floor(self) -> int:
        """The persisted floor in Unix seconds."""
        return self._floor

    def now(self) -> tuple[int, ClockState]:
        """The wall clock, or the floor where the wall clock is behind it."""
        wall = int(self._wall())
        if wall < self._floor:
            return self._floor, ClockState.BEHIND
        if self._synced():
            self.observe(wall)
            return wall, ClockState.SYNCED
        return wall, ClockState.UNSYNCED

    def observe(self, signed_time: int) -> None:
        """Raise the floor to a time vouched for by a signature or by NTP."""
        with self._lock:
            if signed_time <= self._floor:
                return
            self._floor = signed_time
            if signed_time - self._persisted >= PERSIST_EVERY or self._persisted == 0:
                if self._background and not self._stopping:
                    self._wake_writer()
                elif self._write(self._floor):
                    self._persisted = self._floor

    def flush(self) -> None:
        """Persist the floor now and end the writer thread (on clean stop)."""
        with self._lock:
            self._stopping = True
            writer = self._writer
        self._due.set()
        if writer is not None:
            writer.join(5.0)
        with self._lock:
            if self._floor != self._persisted and self._write(self._floor):
                self._persisted = self._floor

    def _wake_writer(self) -> None:
        if self._writer is None:
            writer = threading.Thread(target=self._write_loop, name="clock-floor", daemon=True)
            self._writer = writer
            writer.start()
        self._due.set()

    def _write_loop(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            with self._lock:
                if self._stopping:
                    return
                floor = self._floor
            if self._write(floor):  # outside the lock: observe() never waits for the disk
                with self._lock:
                    self._persisted = max(self._persisted, floor)

    def _write(self, floor: int) -> bool:
        try:
            atomic_write(self._path, f"{floor}\n".encode())
        except OSError as exc:
            log.warning("cannot persist clock floor: %s", exc)
            return False
        return True
