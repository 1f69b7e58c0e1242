"""Progress of long work on stderr: a redrawn line on a terminal, one-line summaries otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

TTY_EVERY_S = 0.2  # a terminal line redrawn at most this often
PIPE_EVERY_S = 10.0  # a log line at most this often when stderr is a file or journald


class Progress:
    """`step(name)` starts a stage, `advance(done)` reports within it; `finish()` ends.

    On a terminal one line is redrawn in place; anywhere else a plain line is
    written when a stage starts and then at most every PIPE_EVERY_S, so a log
    shows the work is alive without control characters.
    """

    def __init__(
        self,
        what: str,
        stages: int,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._what = what
        self._stages = stages
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self._clock = clock
        self._started = clock()
        self._stage = 0
        self._name = ""
        self._total: int | None = None
        self._last = float("-inf")

    def step(self, name: str, total: int | None = None) -> None:
        """Begin the next stage, of `total` items when known."""
        self._stage += 1
        self._name, self._total = name, total
        self._last = float("-inf")
        self._show(None, force=True)

    def advance(self, done: int) -> None:
        """Report `done` items of the current stage (redrawn at most so often)."""
        self._show(done, force=False)

    def finish(self) -> None:
        """Report the whole job done, with its time."""
        elapsed = self._clock() - self._started
        end = "\r\x1b[K" if self._tty else ""
        self._stream.write(f"{end}{self._what}: done in {elapsed:.1f} s\n")
        self._stream.flush()

    def _show(self, done: int | None, force: bool) -> None:
        now = self._clock()
        if not force and now - self._last < (TTY_EVERY_S if self._tty else PIPE_EVERY_S):
            return
        self._last = now
        part = ""
        if done is not None and self._total:
            part = f" {done:,}/{self._total:,} ({100 * done // self._total}%)"
        line = (
            f"{self._what}: [{self._stage}/{self._stages}] {self._name}{part}"
            f" ({now - self._started:.0f} s)"
        )
        if self._tty:
            self._stream.write(f"\r{line}\x1b[K")
        else:
            self._stream.write(line + "\n")
        self._stream.flush()
