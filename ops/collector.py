"""The collector: a persistent MQTT v5 session whose messages are PUBACKed only once committed.

paho's network thread only queues messages; one writer thread commits them in
groups and then acknowledges them in arrival order (``manual_ack``). A message
the collector had not committed when it died is therefore still the broker's,
and comes again on the persistent session; one it had committed comes again at
most as a duplicate, which the (device, store, seq) key turns away.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ops import ingest
from ops.store import Store
from scanner.uplink.config import parse_broker_url

log = logging.getLogger(__name__)

_GROUP_MAX = 200  # messages per transaction: one commit (one fsync) for a burst


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    broker_url: str
    topic_root: str = "checkpoint/v1"
    client_id: str = "checkpoint-ops-collector"
    shared_group: str | None = None
    session_expiry_s: int = 7 * 86400
    receive_maximum: int = 1000
    ca_file: Path | None = None  # mqtts: the broker's CA (None: the system's CAs)
    cert_file: Path | None = None  # client certificate, for a mutual-TLS listener
    key_file: Path | None = None


@dataclass(slots=True)
class _Item:
    message: ingest.Message
    mid: int
    qos: int
    received_at: float


class Collector:
    """Subscribes, checks, stores and acknowledges; ``start`` and ``stop`` from one thread."""

    def __init__(self, config: CollectorConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._keys = store.keys()
        self._thread = threading.Thread(target=self._write_loop, name="collector-writer")
        self.stats = {"messages": 0, "stored": 0, "duplicates": 0, "refused": 0}
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        broker = parse_broker_url(config.broker_url)
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            # Verifies the certificate and the host name, as the units do.
            client.tls_set(
                ca_certs=str(config.ca_file) if config.ca_file else None,
                certfile=str(config.cert_file) if config.cert_file else None,
                keyfile=str(config.key_file) if config.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        elif config.ca_file or config.cert_file:
            raise ValueError("--ca-file/--cert-file need an mqtts:// broker")
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.reconnect_delay_set(1, 5)
        self._client = client
        self._broker = broker

    def start(self) -> None:
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
        return self._subscribed.wait(timeout)

    def stop(self) -> None:
        """Commit and acknowledge what is queued, then disconnect (the session stays)."""
        self._stop.set()
        self._thread.join(30)
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

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg.properties, "UserProperty", None) or []
        payload = bytes(msg.payload)
        message = ingest.Message(msg.topic, payload, tuple((str(k), str(v)) for k, v in props[:16]))
        self._queue.put(_Item(message, msg.mid, msg.qos, time.time()))

    # -- the writer thread -------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            group = [first]
            while len(group) < _GROUP_MAX:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit_with_retry(group)
            for item in group:
                if item.qos > 0:
                    self._client.ack(item.mid, item.qos)

    def _commit_with_retry(self, group: list[_Item]) -> None:
        delay = 0.5
        while True:
            try:
                with self.store.db.transaction():
                    for item in group:
                        self._handle(item)
            except Exception:
                # A database fault, not bad input (that is refused before any
                # write): keep the messages unacknowledged and try again.
                log.exception("could not commit %d messages; retrying", len(group))
                if self._stop.wait(delay) and delay > 5:
                    return
                delay = min(delay * 2, 10.0)
                continue
            return

    def _key_for(self, device_id: str) -> object:
        key = self._keys.get(device_id)
        if key is None:
            # Enrolled since start (one primary-key lookup): refusing it would
            # lose a batch the device has already deleted from its outbox.
            key = self.store.key(device_id)
            if key is not None:
                self._keys[device_id] = key
        return key

    def _handle(self, item: _Item) -> None:
        self.stats["messages"] += 1
        parsed = ingest.parse(item.message, self.config.topic_root, self._key_for)
        now = time.time()
        if isinstance(parsed, ingest.Refused):
            self._refuse(parsed.reason, parsed.device_id, now)
        elif isinstance(parsed, ingest.Batch):
            result = self.store.ingest(parsed, now)
            if result.refused is not None:
                self._refuse(result.refused, parsed.device_id, now)
            self.stats["stored"] += result.inserted
            self.stats["duplicates"] += result.duplicates
        elif isinstance(parsed, ingest.Status):
            self.store.status(parsed, now)
        elif isinstance(parsed, ingest.Heartbeat):
            self.store.heartbeat(parsed, now)
        elif isinstance(parsed, ingest.TransientAlert):
            self.store.transient_alert(parsed, now)

    def _refuse(self, reason: str, device_id: str, now: float) -> None:
        self.stats["refused"] += 1
        # The device ID is not personal data; the payload (pass IDs) is never logged.
        log.warning("refused a message from %r: %s", device_id, reason)
        self.store.refuse(reason, device_id, now)
