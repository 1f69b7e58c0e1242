"""Camera supervision as a pure state machine: failures, reopen backoff, stalls, watchdog petting.

It does no I/O and reads no clock: the scan loop tells it what happened and
when (`now`, monotonic seconds), acts on what it answers (alert, reopen, pet
the watchdog), and tests drive it through hours of outages in microseconds.

The watchdog is petted only while the loop is doing its job: frames arrive, or
the camera is down and being reopened under our control. A read that hangs
stops frames; after `stall_s` the camera counts as failed, and once reopening
has failed `GIVE_UP_AFTER` times in a row (or a reader thread would not stop)
petting stops, so systemd restarts the service with a fresh camera stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GIVE_UP_AFTER = 8  # failed reopens in a row before the watchdog is left to restart us


@dataclass(frozen=True, slots=True)
class FirstFrame:
    """The first frame of an opened camera; `down_s` is how long it was down, if it was."""

    down_s: float | None


class CameraSupervisor:
    """What the scan loop should do about its camera, given what happened and when."""

    def __init__(
        self,
        *,
        reopen_min_s: float,
        reopen_max_s: float,
        stall_s: float,
        watchdog_s: float | None,
        now: float,
    ) -> None:
        self.reopen_min_s = reopen_min_s
        self.reopen_max_s = reopen_max_s
        self.stall_s = stall_s
        self.watchdog_s = watchdog_s
        self.is_open = False
        self.failures = 0  # failed opens or reads since the last delivered frame
        self.stuck = False  # a reader thread would not stop: never reopen in-process
        self.down_since: float | None = None
        self._backoff = reopen_min_s
        self._reopen_at = now
        self._last_frame = now
        self._delivering = False  # the open camera has delivered a frame
        self._next_pet = now

    # -- what happened ----------------------------------------------------------------------

    def opened(self, now: float) -> None:
        """The source opened; it counts as recovered only when its first frame arrives."""
        self.is_open = True
        self._last_frame = now

    def frame(self, now: float) -> FirstFrame | None:
        """A frame arrived; the first one of an opening ends any outage and resets the backoff."""
        self._last_frame = now
        if self._delivering:
            return None
        self._delivering = True
        down = None if self.down_since is None else now - self.down_since
        self.down_since = None
        self.failures = 0
        self._backoff = self.reopen_min_s
        return FirstFrame(down)

    def closed(self, *, reader_stopped: bool) -> None:
        """The source was closed; a reader that would not stop leaves the camera stuck for good."""
        self.is_open = False
        self._delivering = False
        if not reader_stopped:
            self.stuck = True

    def failed(self, now: float) -> bool:
        """An open or a read failed (the loop closed the source): True if an outage starts now."""
        self.failures += 1
        self._reopen_at = now + self._backoff
        self._backoff = min(self._backoff * 2, self.reopen_max_s)
        if self.down_since is not None:
            return False
        self.down_since = now
        return True

    # -- what to do -------------------------------------------------------------------------

    def stalled(self, now: float) -> bool:
        """No frame for longer than `stall_s` from an open camera: treat it as failed."""
        return now - self._last_frame > self.stall_s

    def may_reopen(self, now: float) -> bool:
        """A closed camera may be opened again: its backoff is over and no reader is stuck."""
        return not self.stuck and now >= self._reopen_at

    def wait_s(self, now: float) -> float:
        """Seconds until the next reopen: 0 when due, never (infinity) while a reader is stuck."""
        return math.inf if self.stuck else max(0.0, self._reopen_at - now)

    def alive(self, now: float) -> bool:
        """Whether the loop is doing its job, which is when the watchdog may be petted."""
        if self.stuck or self.failures >= GIVE_UP_AFTER:
            return False
        return not self.is_open or not self.stalled(now)

    def pet(self, now: float) -> bool:
        """True when the watchdog should be petted now (due, and the loop is alive)."""
        if self.watchdog_s is None or now < self._next_pet or not self.alive(now):
            return False
        self._next_pet = now + self.watchdog_s
        return True
