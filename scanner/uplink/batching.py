"""Batch sizing as a pure state machine: shrink when a batch may be too big, grow back slowly.

No I/O and no clock: the forwarder reports each batch's fate and asks for the
limits of the next one, so the rules are tested in microseconds without a broker.
"""

from __future__ import annotations

GROW_AFTER = 64  # successful batches before a shrunken batch size is doubled again
MIN_BATCH_BYTES = 1024
PACKET_HEADROOM = 512  # topic, properties (the signature) and headers take well under this


class BatchSizer:
    """The largest batch (events and bytes) to send next, within the configured bounds."""

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.events = max_events
        self.bytes = max_bytes
        self.splits = 0
        self._streak = 0

    def fit(self, max_packet_size: int | None) -> None:
        """Keep batches within the packet size a broker announced (None: it announced none)."""
        budget = (
            self.max_bytes
            if max_packet_size is None
            else max(MIN_BATCH_BYTES, max_packet_size - PACKET_HEADROOM)
        )
        self.bytes = min(self.bytes, budget)

    def delivered(self) -> None:
        """A batch was acknowledged: after GROW_AFTER in a row, double the limits again."""
        self._streak += 1
        if self._streak < GROW_AFTER:
            return
        self._streak = 0
        self.events = min(self.max_events, self.events * 2)
        self.bytes = min(self.max_bytes, self.bytes * 2)

    def too_big(self, events: int, payload_bytes: int) -> None:
        """A batch of this size was refused for its size or lost: the next is half as big."""
        if events > 1:
            self.splits += 1
        self.events = max(1, events // 2)
        self.bytes = max(MIN_BATCH_BYTES, payload_bytes // 2)
        self._streak = 0
