"""The uplink: one thread that keeps a broker connection and forwards the outbox, in order, signed.

This module owns the connection's life: connecting and reconnecting with
backoff, the status birth and last will, the session number, subscriptions,
heartbeats and messages that are not stored (through ``direct``), and handing
downlink messages over. Store and forward itself (batches, PUBACKs, splitting)
is ``forwarder.Forwarder``.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

import scanner
from scanner.outbox.queue import Outbox
from scanner.uplink import discovery, payloads
from scanner.uplink.config import UplinkConfig
from scanner.uplink.direct import DirectMessages, HeartbeatSource
from scanner.uplink.forwarder import Forwarder
from scanner.uplink.inbound import DownlinkMessage, calls_for_rebirth, downlink_message
from scanner.uplink.publisher import SignedPublisher
from scanner.uplink.session import Connection, Will
from scanner.uplink.session_counter import SessionCounter
from scanner.uplink.topics import Topics
from scanner.uplink.worker import DownlinkWorker

log = logging.getLogger(__name__)

__all__ = [
    "DownlinkHandler",
    "Uplink",
    "UplinkStats",
]

DownlinkHandler = Callable[[DownlinkMessage], None]
AlertSink = Callable[[str, Mapping[str, object]], None]


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
    connect_attempts: int = 0
    link_refusal: str | None = None  # why the broker link is refused, while it is


class Uplink:
    """Publishes status, heartbeats, scan batches and alerts; hands downlink messages over.

    ``heartbeat`` is called from the uplink's thread and must return quickly;
    ``on_downlink`` runs on the ``downlink`` worker thread, never on paho's
    network thread, so a long revocation apply does not hold up PUBACKs.
    """

    def __init__(
        self,
        config: UplinkConfig,
        outbox: Outbox,
        signing_key: Any,  # nacl.signing.SigningKey (PyNaCl ships no type hints)
        *,
        heartbeat: HeartbeatSource | None = None,
        on_downlink: DownlinkHandler | None = None,
        on_alert: AlertSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.topics = Topics(config.topic_root, config.device_id)
        self._publisher = SignedPublisher(signing_key)
        self._worker = DownlinkWorker(on_downlink) if on_downlink is not None else None
        # Seconds from each QoS 1 publish to its PUBACK, the latest first out: for benchmarks.
        self.ack_delays: collections.deque[float] = collections.deque(maxlen=100_000)
        self._clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._sessions = SessionCounter(config.state_dir)
        self._session = self._sessions.value
        self._online_since = 0.0
        self._rebirth = False
        self._heartbeat_due = 0.0
        self._connections = 0
        self._attempts = 0
        self._on_alert = on_alert
        self._refusal: str | None = None  # the last refusal, reported once until it changes
        self._direct = DirectMessages(
            config, self.topics, outbox, self._publisher, heartbeat=heartbeat, clock=clock
        )
        self._forwarder = Forwarder(
            config,
            self.topics,
            outbox,
            self._publisher,
            clock=clock,
            stop=self._stop,
            on_alert=on_alert,
        )

    # -- public ------------------------------------------------------------------

    def start(self) -> None:
        """Start the uplink thread; it connects, and reconnects with backoff, until ``stop``."""
        if self._thread is not None:
            raise RuntimeError("uplink already started")
        if self._worker is not None:
            self._worker.start()
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
        if self._worker is not None:
            self._worker.stop(timeout)

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
        self._direct.alert(code, message, detail)
        self._wake.set()

    def publish_command_result(self, document: Mapping[str, object]) -> None:
        """Answer to a command on ``.../command-results`` (signed, QoS 1, not stored)."""
        self._direct.command_result(document)
        self._wake.set()

    def request_trust_catchup(
        self, bundle_version: int | None, revocation_serial: int | None
    ) -> None:
        """Ask central for what came after these versions; answers arrive as TRUST_CATCHUP."""
        self._direct.trust_request(bundle_version, revocation_serial)
        self._wake.set()

    @property
    def connected(self) -> bool:
        """Whether the uplink has a broker connection now."""
        with self._lock:
            conn = self._conn
        return conn is not None and conn.connected

    def stats(self) -> UplinkStats:
        """The uplink's counters and connection state, for health and tests."""
        return UplinkStats(
            connected=self.connected,
            session=self._session,
            connections=self._connections,
            batches_sent=self._forwarder.batches_sent,
            events_sent=self._forwarder.events_sent,
            splits=self._forwarder.splits,
            refusals=self._forwarder.refusals,
            connect_attempts=self._attempts,
            link_refusal=self._refusal,
        )

    # -- the thread ----------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            conn = self._connect()
            if conn is not None:
                failures = 0
                self._refusal_cleared()
                try:
                    self._serve(conn)
                except Exception:
                    # A bug here must not end the uplink for good: log and reconnect.
                    log.exception("uplink failed; reconnecting")
                finally:
                    self._close(conn)
            failures += 1
            self._backoff(failures, refused=conn is None and self._refusal is not None)

    def _backoff(self, failures: int, *, refused: bool) -> None:
        cfg = self.config
        delay = min(cfg.reconnect_max_delay_s, cfg.reconnect_min_delay_s * 2 ** (failures - 1))
        if refused:
            # A refused certificate or password does not mend in seconds: retry
            # at the slowest pace, so a fleet with a bad CA does not hammer the broker.
            delay = cfg.reconnect_max_delay_s
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
            ack_delays=self.ack_delays,
        )
        with self._lock:
            self._conn = conn
        self._attempts += 1
        if not conn.open():
            with self._lock:
                self._conn = None
            if conn.refusal is not None:
                self._refused(conn.refusal)
            return None
        self._session = session
        self._online_since = now
        self._connections += 1
        self._forwarder.fit_to(conn)
        log.info("connected to broker as session %d", session)
        return conn

    def _refused(self, refusal: str) -> None:
        """One log line and one alert per distinct refusal, not one per retry."""
        if refusal == self._refusal:
            return
        self._refusal = refusal
        broker = self.config.broker
        where = f"{broker.host}:{broker.port}"
        log.warning(
            "uplink to %s refused: %s; scanning goes on offline, retrying every %g s",
            where,
            refusal,
            self.config.reconnect_max_delay_s,
        )
        if self._on_alert is not None:
            self._on_alert("broker_refused", {"broker": where, "reason": refusal})

    def _refusal_cleared(self) -> None:
        if self._refusal is not None:
            log.warning("uplink: the broker accepts the connection again")
            self._refusal = None

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
        if not self._announce_online(conn):
            return
        # Home Assistant discovery, when on: retained, so once a connection is plenty.
        for topic, config in discovery.configs(self.config, self.topics):
            if not self._publisher.publish_ok(conn, topic, config, retain=True, sign=False):
                return
        conn.subscribe(
            [
                self.topics.status,
                self.topics.commands,
                self.topics.trust_catchup,
                self.topics.trust_bundle,
                self.topics.revocations,
                self.topics.dcc_signers,
                self.topics.dcc_rules,
            ]
        )
        self._heartbeat_due = 0.0
        while conn.connected and not self._stop.is_set():
            if self._rebirth:
                self._rebirth = False
                if not self._announce_online(conn):
                    return
            if time.monotonic() >= self._heartbeat_due:
                self._send_heartbeat(conn)
            if not self._direct.send_pending(conn):
                return
            progressed = self._forwarder.forward(conn, self._session)
            if progressed is None:
                return
            if not progressed:
                wait = min(
                    self.config.poll_interval_s,
                    max(0.0, self._heartbeat_due - time.monotonic()),
                )
                self._wake.wait(wait)
                self._wake.clear()

    # -- status and heartbeats ---------------------------------------------------------

    def _announce_online(self, conn: Connection) -> bool:
        """The retained "online" status: the birth, or again after a stale will (unsigned)."""
        status = self._status("online", self._session, self._online_since, self._clock(), None)
        return self._publisher.publish_ok(conn, self.topics.status, status, retain=True, sign=False)

    def _send_heartbeat(self, conn: Connection) -> None:
        self._heartbeat_due = time.monotonic() + self.config.heartbeat_interval_s
        stats = self.stats()
        uplink = {
            "connections": stats.connections,
            "batches_sent": stats.batches_sent,
            "events_sent": stats.events_sent,
            "splits": stats.splits,
            "refusals": stats.refusals,
        }
        self._direct.send_heartbeat(conn, self._session, uplink)

    def _status(
        self, state: str, session: int, since: float, at: float | None, reason: str | None
    ) -> bytes:
        return payloads.status(
            device_id=self.config.device_id,
            checkpoint_id=self.config.checkpoint_id,
            label=self.config.label,
            state=state,
            session=session,
            online_since=since,
            at=at,
            reason=reason,
            software=scanner.__version__,
        )

    # -- downlink: sorted on paho's network thread, handled on the worker's --------------

    def _dispatch(self, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        if topic == self.topics.status:
            if calls_for_rebirth(msg.payload, self._session):
                self._rebirth = True
                self._wake.set()
            return
        if self._worker is None:
            return
        message = downlink_message(self.topics, msg)
        if message is None:
            return
        log.debug("downlink %s message, %d bytes", message.kind, len(message.payload))
        self._worker.submit(message)
