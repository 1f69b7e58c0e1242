"""Store and forward: the outbox's head sent in signed batches, acknowledged only after a PUBACK.

A batch is read from the head of the outbox, published at QoS 1 and
acknowledged in the outbox only after a success PUBACK, one batch in flight at
a time so that order holds. A refused or lost batch stays in the outbox and is
sent again (smaller, when its size may be the cause), so the central side may
see duplicates but never a gap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from scanner.outbox.events import EventKind, StoredEvent
from scanner.outbox.queue import Outbox
from scanner.trust.files import atomic_write
from scanner.uplink import payloads
from scanner.uplink.batching import BatchSizer
from scanner.uplink.config import UplinkConfig
from scanner.uplink.publisher import SignedPublisher
from scanner.uplink.session import Connection, Delivery, PublishOutcome
from scanner.uplink.topics import Topics

log = logging.getLogger(__name__)

# Reason codes after which a smaller batch may succeed: 0x95 packet too large,
# 0x83 implementation specific (what some brokers answer for size limits).
_SIZE_REASONS = frozenset({0x95, 0x83})
# A lone event whose batch was cut off this often is taken for too large (a scan
# event is a few hundred bytes; only one carrying a large detail gets here).
_LOST_ALONE_LIMIT = 3
_LOST_ALONE_MIN_BYTES = 4096
SET_ASIDE_DIR = "set-aside"

AlertSink = Callable[[str, Mapping[str, object]], None]


class Forwarder:
    """Sends the outbox in order, one batch in flight, adapting the batch size to the broker.

    Used only from the uplink thread; the counters are read for stats and heartbeats.
    """

    def __init__(
        self,
        config: UplinkConfig,
        topics: Topics,
        outbox: Outbox,
        publisher: SignedPublisher,
        *,
        clock: Callable[[], float],
        stop: threading.Event,
        on_alert: AlertSink | None = None,
    ) -> None:
        self.config = config
        self._on_alert = on_alert
        self._lost_alone: tuple[int, int] = (0, 0)  # (seq, times) of a lone event cut off
        self.set_aside = 0
        self.topics = topics
        self._outbox = outbox
        self._publisher = publisher
        self._clock = clock
        self._stop = stop
        self.sizer = BatchSizer(config.batch_max_events, config.batch_max_bytes)
        self._alerts_copied_through = 0
        self.batches_sent = 0
        self.events_sent = 0
        self.refusals = 0

    @property
    def splits(self) -> int:
        """How often a batch was split because the broker refused it."""
        return self.sizer.splits

    def fit_to(self, conn: Connection) -> None:
        """Keep batches within the packet size this connection's broker announced."""
        self.sizer.fit(conn.max_packet_size)

    def forward(self, conn: Connection, session: int) -> bool | None:
        """Send one batch: True if the outbox moved, False if idle, None if the link is gone."""
        budget = self.sizer.bytes - payloads.batch_overhead(
            self.config.device_id, self._outbox.store_id
        )
        events = self._outbox.read_batch(self.sizer.events, max(budget, 1))
        if not events:
            return False
        for event in events:
            if event.kind is EventKind.ALERT and event.seq > self._alerts_copied_through:
                copy = payloads.durable_alert(event)
                if not self._publisher.publish_ok(conn, self.topics.alerts, copy):
                    # The copy goes alone: if the broker cuts it off, its size may be why.
                    if len(copy) >= _LOST_ALONE_MIN_BYTES:
                        self._lost_alone_again(event, len(copy))
                    return None
                self._alerts_copied_through = event.seq
        payload = payloads.batch(
            device_id=self.config.device_id,
            store_id=self._outbox.store_id,
            session=session,
            sent_at=self._clock(),
            events=events,
        )
        announced = conn.max_packet_size
        if len(events) == 1 and announced is not None and len(payload) > announced - 512:
            self._set_aside(events[0], len(payload), "larger than the broker's packet size")
            return True
        outcome = self._publisher.publish(conn, self.topics.scans, payload)
        if outcome.delivery is Delivery.ACKED:
            self._outbox.ack(events)  # the items themselves: exactly what was sent
            self.batches_sent += 1
            self.events_sent += len(events)
            self.sizer.delivered()
            return True
        if outcome.delivery is Delivery.REFUSED:
            self._refused(events, payload, outcome)
            return True
        if outcome.delivery in (Delivery.LOST, Delivery.TIMEOUT):
            # Mosquitto 2.0 answers a payload over message_size_limit with PUBACK
            # 0x95, which paho 2.2 cannot parse (not a PUBACK code in the spec),
            # so the connection drops instead: shrink, the batch may be the cause.
            log.info("batch %d-%d not acknowledged (%s)", events[0].seq, events[-1].seq, outcome)
            if len(events) == 1 and len(payload) >= _LOST_ALONE_MIN_BYTES:
                self._lost_alone_again(events[0], len(payload))
            self.sizer.too_big(len(events), len(payload))
        return None

    def _lost_alone_again(self, event: StoredEvent, size: int) -> None:
        seq, times = self._lost_alone
        times = times + 1 if seq == event.seq else 1
        self._lost_alone = (event.seq, times)
        if times >= _LOST_ALONE_LIMIT:
            self._set_aside(event, size, f"the broker dropped the link {times} times over it")

    def _set_aside(self, event: StoredEvent, size: int, why: str) -> None:
        """An event no broker will take even alone: kept on the unit, out of the queue, alerted.

        Never retried forever, never silently dropped: the file keeps it for a
        technician, and the alert tells ops which sequence number is missing.
        """
        directory = self.config.state_dir / SET_ASIDE_DIR
        directory.mkdir(mode=0o700, exist_ok=True)
        name = f"{self._outbox.store_id}-{event.seq}.json"
        atomic_write(directory / name, event.json.encode("utf-8") + b"\n", 0o600)
        self._outbox.ack([event])
        self.set_aside += 1
        self._lost_alone = (0, 0)
        log.warning("event %d (%d bytes) set aside in %s: %s", event.seq, size, directory, why)
        if self._on_alert is not None:
            detail = {"seq": event.seq, "kind": event.kind.value, "bytes": size, "why": why}
            self._on_alert("event_set_aside", detail)

    def _refused(self, events: list[StoredEvent], payload: bytes, outcome: PublishOutcome) -> None:
        self.refusals += 1
        if outcome.reason_code in _SIZE_REASONS and len(events) == 1:
            self._set_aside(events[0], len(payload), f"refused for its size ({outcome.reason})")
            return
        if outcome.reason_code in _SIZE_REASONS and len(events) > 1:
            log.warning(
                "broker refused a %d-byte batch of %d events (%s): splitting",
                len(payload),
                len(events),
                outcome.reason,
            )
            self.sizer.too_big(len(events), len(payload))
            return
        log.warning(
            "broker refused batch %d-%d (%s); kept, retrying later",
            events[0].seq,
            events[-1].seq,
            outcome.reason,
        )
        # Refusals (quota, authorisation, a single event too large) keep the batch
        # and back off so a persistent refusal does not spin.
        delay = min(self.config.reconnect_max_delay_s, self.config.reconnect_min_delay_s * 4)
        self._stop.wait(delay)
