"""The uplink: one thread that keeps a broker connection and forwards the outbox, in order, signed.

Store and forward: a batch is read from the head of the outbox, published at
QoS 1 and acknowledged in the outbox only after a success PUBACK, one batch in
flight at a time so that order holds. A refused or lost batch stays in the
outbox and is sent again (smaller, when its size may be the cause), so the
central side may see duplicates but never a gap.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

import scanner
from scanner.outbox import EventKind, Outbox, StoredEvent
from scanner.uplink import payloads, signing
from scanner.uplink.config import UplinkConfig
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage
from scanner.uplink.session import Connection, Delivery, PublishOutcome, Will
from scanner.uplink.topics import Topics

log = logging.getLogger(__name__)

SESSION_FILENAME = "uplink-session"
# Reason codes after which a smaller batch may succeed: 0x95 packet too large,
# 0x83 implementation specific (what some brokers answer for size limits).
_SIZE_REASONS = frozenset({0x95, 0x83})
_GROW_AFTER = 64  # successful batches before a shrunken batch size is doubled again
_TRANSIENT_MAX = 100
_MIN_BATCH_BYTES = 1024

HeartbeatSource = Callable[[], Mapping[str, object]]
DownlinkHandler = Callable[[DownlinkMessage], None]


@dataclass(frozen=True, slots=True)
class UplinkStats:
    """Counters since start, for heartbeats and benchmarks."""

    connected: bool
    session: int
    connections: int
    batches_sent: int
    events_sent: int
    splits: int
    refusals: int


class SessionCounter:
    """A number persisted in ``state_dir``: one per connection, never reused, so births order."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / SESSION_FILENAME
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.value = int(self._path.read_text().strip() or "0")
        except FileNotFoundError:
            self.value = 0

    def next(self) -> int:
        """Persist value + 1 (atomically, fsynced) before anyone sees it, and return it."""
        value = self.value + 1
        tmp = self._path.with_suffix(".tmp")
        with tmp.open("w") as handle:
            handle.write(f"{value}\n")
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self._path)
        directory = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.value = value
        return value


class Uplink:
    """Publishes status, heartbeats, scan batches and alerts; hands downlink messages over.

    ``heartbeat`` and ``on_downlink`` are called from the uplink's threads and must
    return quickly; ``on_downlink`` runs on paho's network thread.
    """

    def __init__(
        self,
        config: UplinkConfig,
        outbox: Outbox,
        signing_key: Any,  # nacl.signing.SigningKey (PyNaCl ships no type hints)
        *,
        heartbeat: HeartbeatSource | None = None,
        on_downlink: DownlinkHandler | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.topics = Topics(config.topic_root, config.device_id)
        self._outbox = outbox
        self._key = signing_key
        self._heartbeat_source = heartbeat
        self._on_downlink = on_downlink
        self._clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._sessions = SessionCounter(config.state_dir)
        self._session = self._sessions.value
        self._online_since = 0.0
        self._transient: collections.deque[tuple[str, bytes]] = collections.deque(
            maxlen=_TRANSIENT_MAX
        )
        self._rebirth = False
        self._heartbeat_due = 0.0
        self._limit_events = config.batch_max_events
        self._limit_bytes = config.batch_max_bytes
        self._streak = 0
        self._alerts_copied_through = 0
        self._connections = 0
        self._batches = 0
        self._events = 0
        self._splits = 0
        self._refusals = 0

    # -- public ------------------------------------------------------------------

    def start(self) -> None:
        """Start the uplink thread; it connects, and reconnects with backoff, until ``stop``."""
        if self._thread is not None:
            raise RuntimeError("uplink already started")
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Publish ``offline`` (if connected), disconnect and join the thread."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            conn = self._conn
        if conn is not None:
            conn.interrupt()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look at the outbox now (after a record, or for the 'flush the outbox' command)."""
        self._wake.set()

    def report_now(self) -> None:
        """Send a heartbeat at the next chance (the 'report status now' command)."""
        self._heartbeat_due = 0.0
        self._wake.set()

    def alert_now(
        self, code: str, message: str, detail: Mapping[str, object] | None = None
    ) -> None:
        """A signed alert that is NOT stored: for when the outbox itself cannot take it.

        Kept in memory (the last 100) until connected; lost if the process ends.
        """
        payload = payloads.transient_alert(
            device_id=self.config.device_id,
            wall_time=self._clock(),
            code=code,
            message=message,
            detail=detail,
        )
        self._transient.append((self.topics.alerts, payload))
        self._wake.set()

    def publish_command_result(self, document: Mapping[str, object]) -> None:
        """Answer to a command on ``.../command-results`` (signed, QoS 1, not stored)."""
        self._transient.append((self.topics.command_results, payloads.json_document(document)))
        self._wake.set()

    def request_trust_catchup(
        self, bundle_version: int | None, revocation_serial: int | None
    ) -> None:
        """Ask central for what came after these versions; answers arrive as TRUST_CATCHUP."""
        document = {
            "v": payloads.SCHEMA_VERSION,
            "device_id": self.config.device_id,
            "bundle_version": bundle_version,
            "revocation_serial": revocation_serial,
            "reply_to": self.topics.trust_catchup,
        }
        self._transient.append((self.topics.trust_request, payloads.json_document(document)))
        self._wake.set()

    @property
    def connected(self) -> bool:
        with self._lock:
            conn = self._conn
        return conn is not None and conn.connected

    def stats(self) -> UplinkStats:
        return UplinkStats(
            connected=self.connected,
            session=self._session,
            connections=self._connections,
            batches_sent=self._batches,
            events_sent=self._events,
            splits=self._splits,
            refusals=self._refusals,
        )

    # -- the thread ----------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            conn = self._connect()
            if conn is not None:
                failures = 0
                try:
                    self._serve(conn)
                except Exception:
                    # A bug here must not end the uplink for good: log and reconnect.
                    log.exception("uplink failed; reconnecting")
                finally:
                    self._close(conn)
            failures += 1
            self._backoff(failures)

    def _backoff(self, failures: int) -> None:
        cfg = self.config
        delay = min(cfg.reconnect_max_delay_s, cfg.reconnect_min_delay_s * 2 ** (failures - 1))
        # Jitter keeps a fleet from reconnecting in step after a broker restart.
        self._stop.wait(random.uniform(delay / 2, delay))  # noqa: S311

    def _connect(self) -> Connection | None:
        session = self._sessions.next()
        now = self._clock()
        will = Will(self.topics.status, self._status("offline", session, now, None, "lost"))
        conn = Connection(
            self.config,
            will=will,
            stop=self._stop,
            on_message=self._dispatch,
            on_lost=self._wake.set,
        )
        with self._lock:
            self._conn = conn
        if not conn.open():
            with self._lock:
                self._conn = None
            return None
        self._session = session
        self._online_since = now
        self._connections += 1
        self._limit_bytes = min(self._limit_bytes, self._packet_budget(conn))
        log.info("connected to broker as session %d", session)
        return conn

    def _packet_budget(self, conn: Connection) -> int:
        if conn.max_packet_size is None:
            return self.config.batch_max_bytes
        # Topic, properties (signature) and headers take well under 512 bytes.
        return max(_MIN_BATCH_BYTES, conn.max_packet_size - 512)

    def _close(self, conn: Connection) -> None:
        last_words = None
        if self._stop.is_set():
            last_words = Will(
                self.topics.status,
                self._status(
                    "offline", self._session, self._online_since, self._clock(), "shutdown"
                ),
            )
        conn.close(last_words=last_words)
        with self._lock:
            self._conn = None

    def _serve(self, conn: Connection) -> None:
        birth = self._status("online", self._session, self._online_since, self._clock(), None)
        if not self._publish_ok(conn, self.topics.status, birth, retain=True, sign=False):
            return
        conn.subscribe(
            [
                self.topics.status,
                self.topics.commands,
                self.topics.trust_catchup,
                self.topics.trust_bundle,
                self.topics.revocations,
            ]
        )
        self._heartbeat_due = 0.0
        while conn.connected and not self._stop.is_set():
            if self._rebirth:
                self._rebirth = False
                now = self._clock()
                status = self._status("online", self._session, self._online_since, now, None)
                if not self._publish_ok(conn, self.topics.status, status, retain=True, sign=False):
                    return
            if time.monotonic() >= self._heartbeat_due:
                self._send_heartbeat(conn)
            if not self._send_transient(conn):
                return
            progressed = self._forward(conn)
            if progressed is None:
                return
            if not progressed:
                wait = min(
                    self.config.poll_interval_s,
                    max(0.0, self._heartbeat_due - time.monotonic()),
                )
                self._wake.wait(wait)
                self._wake.clear()

    # -- forwarding ------------------------------------------------------------------

    def _forward(self, conn: Connection) -> bool | None:
        """Send one batch: True if the outbox moved, False if idle, None if the link is gone."""
        budget = self._limit_bytes - payloads.batch_overhead(
            self.config.device_id, self._outbox.store_id
        )
        events = self._outbox.read_batch(self._limit_events, max(budget, 1))
        if not events:
            return False
        for event in events:
            if event.kind is EventKind.ALERT and event.seq > self._alerts_copied_through:
                if not self._publish_ok(conn, self.topics.alerts, payloads.durable_alert(event)):
                    return None
                self._alerts_copied_through = event.seq
        payload = payloads.batch(
            device_id=self.config.device_id,
            store_id=self._outbox.store_id,
            session=self._session,
            sent_at=self._clock(),
            events=events,
        )
        outcome = self._publish(conn, self.topics.scans, payload)
        if outcome.delivery is Delivery.ACKED:
            self._outbox.ack(event.seq for event in events)
            self._batches += 1
            self._events += len(events)
            self._grow()
            return True
        if outcome.delivery is Delivery.REFUSED:
            self._refused(events, payload, outcome)
            return True
        if outcome.delivery in (Delivery.LOST, Delivery.TIMEOUT):
            # Mosquitto 2.0 answers a payload over message_size_limit with PUBACK
            # 0x95, which paho 2.2 cannot parse (not a PUBACK code in the spec),
            # so the connection drops instead: shrink, the batch may be the cause.
            log.info("batch %d-%d not acknowledged (%s)", events[0].seq, events[-1].seq, outcome)
            self._shrink(events, payload)
        return None

    def _refused(self, events: list[StoredEvent], payload: bytes, outcome: PublishOutcome) -> None:
        self._refusals += 1
        if outcome.reason_code in _SIZE_REASONS and len(events) > 1:
            log.warning(
                "broker refused a %d-byte batch of %d events (%s): splitting",
                len(payload),
                len(events),
                outcome.reason,
            )
            self._shrink(events, payload)
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

    def _shrink(self, events: list[StoredEvent], payload: bytes) -> None:
        if len(events) > 1:
            self._splits += 1
        self._limit_events = max(1, len(events) // 2)
        self._limit_bytes = max(_MIN_BATCH_BYTES, len(payload) // 2)
        self._streak = 0

    def _grow(self) -> None:
        self._streak += 1
        if self._streak < _GROW_AFTER:
            return
        self._streak = 0
        self._limit_events = min(self.config.batch_max_events, self._limit_events * 2)
        self._limit_bytes = min(self.config.batch_max_bytes, self._limit_bytes * 2)

    # -- other messages ------------------------------------------------------------------

    def _publish(
        self,
        conn: Connection,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        sign: bool = True,
    ) -> PublishOutcome:
        properties = signing.sign(self._key, topic, payload) if sign else []
        return conn.publish(topic, payload, retain=retain, user_properties=properties)

    def _publish_ok(
        self,
        conn: Connection,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        sign: bool = True,
    ) -> bool:
        outcome = self._publish(conn, topic, payload, retain=retain, sign=sign)
        if outcome.delivery is Delivery.REFUSED:
            log.warning("broker refused a message on %s: %s", topic, outcome.reason)
            return True  # nothing to retry for these; the link itself is fine
        return outcome.delivery is Delivery.ACKED

    def _send_transient(self, conn: Connection) -> bool:
        while self._transient:
            topic, payload = self._transient[0]
            if not self._publish_ok(conn, topic, payload):
                return False
            self._transient.popleft()
        return True

    def _send_heartbeat(self, conn: Connection) -> None:
        self._heartbeat_due = time.monotonic() + self.config.heartbeat_interval_s
        supplied: Mapping[str, object] = {}
        if self._heartbeat_source is not None:
            try:
                supplied = self._heartbeat_source()
            except Exception:
                log.exception("heartbeat source failed; sending the uplink's part only")
        age = self._outbox.oldest_unsent_age()
        outbox = {
            "depth": self._outbox.depth(),
            "oldest_unsent_age_s": round(age, 1) if age is not None else None,
            "fill_level": int(self._outbox.fill()),
            "used_bytes": self._outbox.used_bytes(),
            "max_bytes": self._outbox.max_bytes,
        }
        stats = self.stats()
        uplink = {
            "connections": stats.connections,
            "batches_sent": stats.batches_sent,
            "events_sent": stats.events_sent,
            "splits": stats.splits,
            "refusals": stats.refusals,
        }
        payload = payloads.heartbeat(
            device_id=self.config.device_id,
            session=self._session,
            sent_at=self._clock(),
            supplied=supplied,
            outbox=outbox,
            uplink=uplink,
        )
        conn.publish_nowait(self.topics.heartbeat, payload)

    def _status(
        self, state: str, session: int, since: float, at: float | None, reason: str | None
    ) -> bytes:
        return payloads.status(
            device_id=self.config.device_id,
            state=state,
            session=session,
            online_since=since,
            at=at,
            reason=reason,
            software=scanner.__version__,
        )

    # -- downlink (paho's network thread) -------------------------------------------------

    def _dispatch(self, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        if topic == self.topics.status:
            self._check_own_status(msg.payload)
            return
        kinds = {
            self.topics.commands: DownlinkKind.COMMAND,
            self.topics.trust_catchup: DownlinkKind.TRUST_CATCHUP,
            self.topics.trust_bundle: DownlinkKind.TRUST_BUNDLE,
            self.topics.revocations: DownlinkKind.REVOCATIONS,
        }
        kind = kinds.get(topic)
        if kind is None or self._on_downlink is None:
            return
        props = msg.properties
        user = tuple(getattr(props, "UserProperty", ()) or ())
        correlation = getattr(props, "CorrelationData", None)
        message = DownlinkMessage(
            kind=kind,
            topic=topic,
            payload=bytes(msg.payload),
            retained=bool(msg.retain),
            user_properties=tuple((str(k), str(v)) for k, v in user),
            content_type=getattr(props, "ContentType", None),
            correlation_data=bytes(correlation) if correlation is not None else None,
            response_topic=getattr(props, "ResponseTopic", None),
        )
        log.debug("downlink %s message, %d bytes", kind, len(message.payload))
        self._on_downlink(message)

    def _check_own_status(self, payload: bytes | bytearray) -> None:
        # A last will from an older connection can land after this connection's
        # birth (the broker notices the old one dead late): say "online" again.
        try:
            document = json.loads(payload)
            session = int(document["session"])
            state = str(document["state"])
        except (ValueError, KeyError, TypeError):
            self._rebirth = True
            self._wake.set()
            return
        if session < self._session or (session == self._session and state != "online"):
            self._rebirth = True
            self._wake.set()
