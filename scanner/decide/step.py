"""The scan step: frame -> decode -> debounce -> verify -> durable event -> light.

Durable before visible: a decision's event is committed to the outbox before
the light changes, so the log survives a power cut of anything the officer
was shown. The commit costs a few milliseconds (measured by `bench outbox`),
well inside the fraction of a second the officer waits.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from scanner.camera.base import Frame
from scanner.decide.debounce import Debouncer
from scanner.decide.decode import Decoder
from scanner.decide.verify import Verifier
from scanner.display.base import Display, NullDisplay
from scanner.errors import OutboxError, OutboxFullError
from scanner.lights.signals import Indicator, Signal, signal_for
from scanner.model import Verdict
from scanner.outbox.events import DetailValue, OutboxEvent
from scanner.outbox.queue import Outbox

log = logging.getLogger(__name__)

UNREADABLE_EVERY_S = 1.5  # at most one "present it again" blink per this, while nothing reads
# Decisions held in memory while the disk refuses them: at 1 scan/s an hour's worth,
# about 0.5 MB; beyond it the oldest go, and the count of those lost is reported.
HELD_MAX = 4096


@dataclass(frozen=True, slots=True)
class LogTrouble:
    """Decisions the outbox could not take: held in memory, and lost from the ring."""

    held: int
    lost: int
    reason: str  # "outbox_full" or "storage_error"


@dataclass(frozen=True, slots=True)
class Decision:
    """One verdict the unit acted on, with what it cost."""

    verdict: Verdict
    decode_ms: float
    latency_ms: float  # frame capture -> light
    logged: bool  # False when the outbox refused: the event is held in memory until it can
    primary: bool  # the code the light was shown for


class FrameStats:
    """Rolling frame rate and decode times for the heartbeat (last `window` frames)."""

    def __init__(self, window: int = 300) -> None:
        self._times: deque[float] = deque(maxlen=window)
        self._decode: deque[float] = deque(maxlen=window)

    def add(self, at: float, decode_ms: float) -> None:
        """Record one frame's arrival time and decode time."""
        self._times.append(at)
        self._decode.append(decode_ms)

    def fps(self) -> float:
        """Frames per second over the window; 0 before two frames."""
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    def decode_percentile(self, q: float) -> float | None:
        """The q-quantile (0..1) of decode times in ms, None before any frame."""
        if not self._decode:
            return None
        ordered = sorted(self._decode)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class ScanStep:
    """Handles one frame at a time; owned by the scan thread, so it needs no locks."""

    def __init__(
        self,
        *,
        decoder: Decoder,
        debouncer: Debouncer,
        verifier: Verifier,
        indicator: Indicator,
        outbox: Outbox,
        device_id: str,
        checkpoint_id: str,
        display: Display | None = None,
        on_decision: Callable[[Decision], None] | None = None,
        on_outbox_full: Callable[[], None] | None = None,
        on_log_trouble: Callable[[LogTrouble], None] | None = None,
        on_log_recovered: Callable[[LogTrouble], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        held_max: int = HELD_MAX,
    ) -> None:
        self._decoder = decoder
        self._debouncer = debouncer
        self._verifier = verifier
        self._indicator = indicator
        self._display = display or NullDisplay()
        self._outbox = outbox
        self._device_id = device_id
        self._checkpoint_id = checkpoint_id
        self._on_decision = on_decision
        self._on_outbox_full = on_outbox_full
        self._on_log_trouble = on_log_trouble
        self._on_log_recovered = on_log_recovered
        # Events the outbox refused, oldest first, committed before anything newer.
        self._held: deque[OutboxEvent] = deque(maxlen=held_max)
        self._lost = 0
        self._trouble: str | None = None
        self._clock = clock
        self._wall = wall
        self._last_unreadable = float("-inf")
        self.stats = FrameStats()

    def process(self, frame: Frame) -> list[Decision]:
        """Decode one frame and act on every pass newly in view; returns what was decided."""
        result = self._decoder.decode(frame.gray)
        self.stats.add(frame.timestamp, result.elapsed_ms)
        readable = [code.content for code in result.codes if code.valid]
        fresh = self._debouncer.feed(readable, frame.timestamp)
        if not fresh:
            if not readable and any(not code.valid for code in result.codes):
                self._unreadable(frame.timestamp)
            return []
        verdicts = [self._verifier.verify(content) for content in fresh]
        logged = self._log(verdicts, result.elapsed_ms)
        # The light belongs to the primary code in view (the decoder puts the largest,
        # most central first). A new code at the edge of the frame is logged, but must
        # not turn the light for the pass being presented, which was already decided.
        primary = bool(readable) and fresh[0] == readable[0]
        if primary:
            self._indicator.show(signal_for(verdicts[0]))
        latency_ms = (self._clock() - frame.timestamp) * 1000
        if primary:
            # Lights first; the display only takes the verdict into its thread's mailbox.
            self._display.show(verdicts[0])
        decisions = [
            Decision(v, result.elapsed_ms, latency_ms, logged, primary=primary and i == 0)
            for i, v in enumerate(verdicts)
        ]
        if self._on_decision is not None:
            for decision in decisions:
                self._on_decision(decision)
        return decisions

    @property
    def unlogged(self) -> int:
        """Decisions shown but not yet in the outbox (held in memory); 0 when all is well."""
        return len(self._held) + self._lost if self._trouble else 0

    def flush_held(self) -> bool:
        """Try again to commit held decisions (the scan loop calls this now and then)."""
        return not self._held or self._commit([])

    def reset_debounce(self) -> None:
        """Forget what was in view (a reopened camera starts a new presentation)."""
        self._debouncer.reset()

    def _unreadable(self, at: float) -> None:
        if at - self._last_unreadable >= UNREADABLE_EVERY_S:
            self._last_unreadable = at
            self._indicator.show(Signal.UNREADABLE)
            self._display.show_unreadable()

    def _log(self, verdicts: list[Verdict], decode_ms: float) -> bool:
        """Commit every decision of this frame in one transaction, before any light."""
        wall = self._wall()
        return self._commit([self._event(v, decode_ms, wall) for v in verdicts])

    def _commit(self, events: list[OutboxEvent]) -> bool:
        """Commit held events, then `events`; on any outbox refusal hold them instead.

        The verdict still shows either way: refusing to light would turn a full or
        failing disk into a closed checkpoint. What could not be logged waits in a
        bounded ring, in order, and goes in first when the disk takes writes again.
        """
        batch = [*self._held, *events]
        try:
            self._outbox.record_many(batch)
        except OutboxError as exc:
            full = isinstance(exc, OutboxFullError)
            for event in events:
                if len(self._held) == self._held.maxlen:
                    self._lost += 1
                self._held.append(event)
            log.error("could not log %d decisions (%s); %d held", len(events), exc, len(self._held))
            if self._trouble is None:
                self._trouble = "outbox_full" if full else "storage_error"
                if full and self._on_outbox_full is not None:
                    self._on_outbox_full()
                if self._on_log_trouble is not None:
                    self._on_log_trouble(self._summary())
            return False
        if self._trouble is not None:
            summary = self._summary()
            self._held.clear()
            self._lost = 0
            self._trouble = None
            log.warning("outbox takes writes again: %d held decisions committed", summary.held)
            if self._on_log_recovered is not None:
                self._on_log_recovered(summary)
        return True

    def _summary(self) -> LogTrouble:
        return LogTrouble(len(self._held), self._lost, self._trouble or "storage_error")

    def _event(self, verdict: Verdict, decode_ms: float, wall: float) -> OutboxEvent:
        if verdict.test_card:
            # Never a scan (no traveller passed), accepted or refused, but audited: a
            # test card that leaked from a technician shows up at central as an alert.
            detail: dict[str, DetailValue] = {"outcome": verdict.outcome.value}
            if verdict.reason is not None:
                detail["reason"] = verdict.reason.value
            return OutboxEvent.alert(
                "test_card",
                detail,
                device_id=self._device_id,
                checkpoint_id=self._checkpoint_id,
                wall_time=wall,
                clock=verdict.clock,
                verdict=verdict,
            )
        return OutboxEvent.scan(
            verdict,
            device_id=self._device_id,
            checkpoint_id=self._checkpoint_id,
            wall_time=wall,
            decode_ms=decode_ms,
        )
