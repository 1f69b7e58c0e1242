"""The collector: a persistent MQTT v5 session whose messages are PUBACKed only once committed.

paho's network thread only queues messages; one writer thread commits them in
groups and then acknowledges them in arrival order (``manual_ack``). A message
the collector had not committed when it died is therefore still the broker's,
and comes again on the persistent session; one it had committed comes again at
most as a duplicate, which ops/eventlog.py turns away. A message that cannot be
stored is quarantined (kept verbatim with its reason) and acknowledged, so it
never holds up the messages behind it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ops import ingest
from ops.collector_client import Delivery, make_client
from ops.db import is_transient
from ops.store import GroupResult, Store

log = logging.getLogger(__name__)

GROUP_MAX = 500  # messages per transaction: one commit (one fsync) for a burst


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    """The collector's broker, session and credentials settings."""

    broker_url: str
    topic_root: str = "checkpoint/v1"
    client_id: str = "checkpoint-ops-collector"
    shared_group: str | None = None
    session_expiry_s: int = 7 * 86400
    receive_maximum: int = 1000
    password: str | None = None  # from --password-file or the environment; else the URL's
    ca_file: Path | None = None  # mqtts: the broker's CA (None: the system's CAs)
    cert_file: Path | None = None  # client certificate, for a mutual-TLS listener
    key_file: Path | None = None


@dataclass(slots=True)
class _Item:
    message: ingest.Message
    mid: int
    qos: int
    received_at: float
    parsed: ingest.Parsed | _Unparsed


class _Unparsed:
    """The network thread left the check to the writer (it needs the database)."""


UNPARSED = _Unparsed()


class Collector:
    """Subscribes, checks, stores and acknowledges; ``start`` and ``stop`` from one thread."""

    def __init__(self, config: CollectorConfig, store: Store) -> None:
        self.config = config
        self.store = store
        store.collector = config.client_id
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._keys = store.keys()
        self._thread = threading.Thread(target=self._write_loop, name="collector-writer")
        self.stats = dict.fromkeys(
            ("messages", "stored", "duplicates", "conflicts", "quarantined", "refused"), 0
        )
        self._client, self._broker = make_client(config, self._on_message)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect

    def start(self) -> None:
        """Start the network thread and connect with a persistent session."""
        self._thread.start()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.session_expiry_s
        # Bounds what the broker sends before our PUBACKs: the queue's depth.
        props.ReceiveMaximum = self.config.receive_maximum
        self._client.connect_async(
            self._broker.host,
            self._broker.port,
            keepalive=30,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until the broker granted the subscriptions; False on timeout."""
        return self._subscribed.wait(timeout)

    def stop(self) -> None:
        """Finish the group being written, leave the rest unacknowledged, disconnect.

        The session stays on the broker, which sends the unacknowledged messages
        again when this client ID comes back.
        """
        self._stop.set()
        self._thread.join(60)
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho's network thread -----------------------------------------------------

    def _topics(self) -> list[tuple[str, SubscribeOptions]]:
        root = self.config.topic_root
        shared = f"$share/{self.config.shared_group}/" if self.config.shared_group else ""
        qos1 = SubscribeOptions(qos=1)
        # Statuses are retained and a shared subscription gets no retained
        # messages, so every collector takes status and heartbeats itself (the
        # updates are idempotent); the event log is split between them.
        return [
            (f"{shared}{root}/devices/+/scans", qos1),
            (f"{shared}{root}/devices/+/alerts", qos1),
            (f"{root}/devices/+/status", qos1),
            (f"{root}/devices/+/heartbeat", qos1),
        ]

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("broker refused the collector: %s", reason_code)
            return
        log.info("collector connected (session present: %s)", flags.session_present)
        client.subscribe(self._topics())

    def _on_subscribe(self, *_args: object) -> None:
        if not self._subscribed.is_set():
            log.info("collector subscribed")
        self._subscribed.set()

    def _on_disconnect(self, *_args: object) -> None:
        log.info("collector lost the broker; paho reconnects")

    def _on_message(self, delivery: Delivery) -> None:
        message = ingest.Message(delivery.topic, delivery.payload, delivery.user_properties)
        # Checked here, against the keys already known: the signature check runs
        # in libsodium without the GIL, so it overlaps the writer's database
        # work. A unit not known yet is looked up by the writer.
        parsed: ingest.Parsed | _Unparsed = UNPARSED
        try:
            parsed = ingest.parse(message, self.config.topic_root, self._keys.get)
        except Exception:
            log.debug("parse left to the writer", exc_info=True)
        if isinstance(parsed, ingest.Refused) and parsed.reason == "unknown_device":
            parsed = UNPARSED
        self._queue.put(_Item(message, delivery.mid, delivery.qos, time.time(), parsed))

    # -- the writer thread -------------------------------------------------------------

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            group = [first]
            while len(group) < GROUP_MAX:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            done = self._commit(group)
            # PUBACKs in the order the PUBLISHes came (MQTT 4.6), and only for
            # what is committed: a stop mid-retry leaves the rest to the broker.
            for item in group[:done]:
                if item.qos > 0:
                    self._client.ack(item.mid, item.qos)
            if done < len(group):
                return

    def _commit(self, group: list[_Item]) -> int:
        """Commit the group; how many of its messages (a prefix) are committed."""
        retry = _Retry(self._stop)
        while True:
            try:
                self._apply(group)
            except Exception as exc:  # sorted into the two cases below  # noqa: BLE001
                if not is_transient(exc):
                    break
                if not retry.wait(exc, len(group)):
                    return 0
            else:
                return len(group)
        # The database refused something the parse let through: one message at
        # a time finds it, and it alone goes to quarantine.
        for done, item in enumerate(group):
            if not self._commit_alone(item):
                return done
        return len(group)

    def _commit_alone(self, item: _Item) -> bool:
        retry = _Retry(self._stop)
        while True:
            try:
                self._apply([item])
            except Exception as exc:
                if is_transient(exc):
                    if not retry.wait(exc, 1):
                        return False
                    continue
                log.debug("could not store a message", exc_info=True)
                reason = f"store_failed: {type(exc).__name__}"
            else:
                return True
            try:
                self._quarantine(item, reason)
            except Exception as exc:  # noqa: BLE001 - the database is at fault: retry
                if not retry.wait(exc, 1):
                    return False
            else:
                return True

    def _apply(self, group: list[_Item]) -> None:
        now = time.time()
        root = self.config.topic_root
        entries = [
            (
                item.message,
                ingest.parse(item.message, root, self._key_for)
                if isinstance(item.parsed, _Unparsed)
                else item.parsed,
            )
            for item in group
        ]
        result = self.store.apply(entries, now)
        self._account(len(group), result)

    def _quarantine(self, item: _Item, reason: str) -> None:
        device_id, _, _ = ingest.split_topic(item.message.topic, self.config.topic_root)
        now = time.time()
        with self.store.db.transaction():
            self.store.quarantine(item.message, reason, device_id or "", now)
            self.store.count({"quarantined": 1})
        log.warning("quarantined a message from %r: %s", device_id, reason)
        self._account(1, GroupResult(quarantined=1))

    def _account(self, messages: int, result: GroupResult) -> None:
        self.stats["messages"] += messages
        self.stats["stored"] += result.stored
        self.stats["duplicates"] += result.duplicates
        self.stats["conflicts"] += result.conflicts
        self.stats["quarantined"] += result.quarantined
        self.stats["refused"] += len(result.refused)
        for reason, device_id in result.refused:
            # The device ID is not personal data; the payload (pass IDs) is never logged.
            log.warning("refused a message from %r: %s", device_id, reason)
        if result.conflicts:
            log.warning(
                "%d events conflict with stored ones (see the conflicts table)", result.conflicts
            )

    def _key_for(self, device_id: str) -> object:
        key = self._keys.get(device_id)
        if key is None:
            # Enrolled since start (one primary-key lookup): refusing it would
            # lose a batch the device has already deleted from its outbox.
            key = self.store.key(device_id)
            if key is not None:
                self._keys[device_id] = key
        return key


class _Retry:
    """Backoff for database faults; ``wait`` is False once the collector is told to stop."""

    def __init__(self, stop: threading.Event, log_fn: Callable[..., None] = log.warning) -> None:
        self._stop = stop
        self._delay = 0.5
        self._log = log_fn

    def wait(self, exc: BaseException, messages: int) -> bool:
        self._log(
            "could not commit %d messages (%s: %s); retrying", messages, type(exc).__name__, exc
        )
        if self._stop.wait(self._delay):
            return False
        self._delay = min(self._delay * 2, 10.0)
        return True
