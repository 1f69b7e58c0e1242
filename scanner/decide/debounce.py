"""Debounce: one decision per pass held in view, a new one only after it left the view a while."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DebounceConfig:
    """`gap_s`: how long a pass must be out of view before showing it again counts anew."""

    gap_s: float = 2.0

    def __post_init__(self) -> None:
        if self.gap_s <= 0:
            raise ValueError("debounce gap must be positive")


class Debouncer:
    """Remembers when each pass was last seen; pure apart from that memory, time passed in.

    A pass is "seen" whenever the decoder reads it. Frames where a held pass is not read (blur,
    glare) do not end its presence, as long as the misses last less than the gap.
    Only digests are kept, so no pass content stays in memory longer than a frame.
    """

    def __init__(self, config: DebounceConfig | None = None) -> None:
        self.config = config or DebounceConfig()
        self._last_seen: dict[bytes, float] = {}

    def feed(self, contents: Iterable[bytes], now: float) -> list[bytes]:
        """Record the codes read in one frame at `now` (monotonic seconds).

        Returns those that need a new decision, in the order given, so the verdict's code
        (first from the decoder) stays first.
        """
        self._forget(now)
        fresh: list[bytes] = []
        for content in contents:
            key = hashlib.blake2b(content, digest_size=16).digest()
            if key not in self._last_seen and content not in fresh:
                fresh.append(content)
            self._last_seen[key] = now
        return fresh

    def reset(self) -> None:
        """Forget every pass (e.g. after the camera was reopened)."""
        self._last_seen.clear()

    def _forget(self, now: float) -> None:
        gap = self.config.gap_s
        stale = [k for k, t in self._last_seen.items() if now - t >= gap]
        for k in stale:
            del self._last_seen[k]
