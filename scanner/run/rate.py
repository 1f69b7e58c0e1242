"""How many decisions the unit made in the last minute: a per-second count over a sliding window."""

from __future__ import annotations

import collections
import threading

WINDOW_S = 60


class RecentCount:
    """`add(now, n)` from the scan loop, `count(now)` from the uplink's heartbeat; `now` in seconds.

    Kept as one bucket a second, so memory stays at most WINDOW_S buckets
    whatever the rate; the lock is there because the two callers are two threads.
    """

    def __init__(self, window_s: int = WINDOW_S) -> None:
        self._window = window_s
        self._buckets: collections.deque[list[int]] = collections.deque()
        self._lock = threading.Lock()

    def add(self, now: float, n: int = 1) -> None:
        """Count `n` events at `now`."""
        second = int(now)
        with self._lock:
            if self._buckets and self._buckets[-1][0] == second:
                self._buckets[-1][1] += n
            else:
                self._buckets.append([second, n])
            self._expire(second)

    def count(self, now: float) -> int:
        """What was added in the `window_s` seconds up to `now`."""
        with self._lock:
            self._expire(int(now))
            return sum(n for _, n in self._buckets)

    def _expire(self, second: int) -> None:
        while self._buckets and self._buckets[0][0] <= second - self._window:
            self._buckets.popleft()
