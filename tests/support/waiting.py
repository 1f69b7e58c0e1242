"""Bounded waits for something to happen: tests assert that it does, never how fast."""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_TIMEOUT_S = 30.0  # generous: only something that never happens should reach it


def wait_until(
    predicate: Callable[[], object], timeout: float = DEFAULT_TIMEOUT_S, interval: float = 0.02
) -> bool:
    """Poll `predicate` until it is true or `timeout` passes; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def wait_for_more(
    count: Callable[[], int], more: int, timeout: float = DEFAULT_TIMEOUT_S, interval: float = 0.05
) -> bool:
    """Wait until `count()` has grown by `more` from what it is now.

    A phase of a traffic test ("scan for a while, then kill the collector") ends when
    that much work has happened, not after a fixed time: fast machines do not wait,
    slow ones are not cut short.
    """
    start = count()
    return wait_until(lambda: count() >= start + more, timeout, interval)
