"""One MQTT v5 connection through paho-mqtt: connect, publish and wait for the PUBACK, receive.

A fresh paho client is made for every connection and thrown away when it
drops: paho would otherwise resend its in-memory copy of an unacknowledged
message on reconnect, which for a message the broker cuts the connection over
(Mosquitto 2.0's ``message_size_limit``, see ``Delivery.LOST``) loops forever.
The outbox, not paho, is what keeps messages across connections.
"""

from __future__ import annotations

import collections
import enum
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from scanner.uplink.config import BrokerAddress, UplinkConfig

log = logging.getLogger(__name__)


class Delivery(enum.Enum):
    """What became of one QoS 1 publish."""

    ACKED = "acked"  # PUBACK with a success reason code
    REFUSED = "refused"  # PUBACK with a failure reason code (v5)
    LOST = "lost"  # the connection dropped before any PUBACK
    TIMEOUT = "timeout"  # connected, but no PUBACK within ack_timeout_s
    STOPPED = "stopped"  # the uplink is stopping


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """How a publish ended: its delivery, and the broker's reason code where it gave one."""

    delivery: Delivery
    reason_code: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Will:
    """The last will: what the broker publishes for the device if the connection drops."""

    topic: str
    payload: bytes


def tls_refusal(exc: ssl.SSLError) -> str:
    """One line for a TLS failure, naming what the technician must fix."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"broker certificate refused: {exc.verify_message}"
    return f"TLS handshake with the broker failed: {exc.reason or exc}"


def log_in(
    client: mqtt.Client,
    broker: BrokerAddress,
    password: str | None,
    *,
    ca_file: Path | None,
    cert_file: Path | None,
    key_file: Path | None,
) -> None:
    """Set the login and, for mqtts://, TLS that checks the broker's certificate and host name.

    The units and the collector connect the same way; a client certificate and
    key are for a mutual-TLS listener.
    """
    if broker.username is not None:
        client.username_pw_set(broker.username, password)
    if broker.tls:
        client.tls_set(
            ca_certs=str(ca_file) if ca_file else None,
            certfile=str(cert_file) if cert_file else None,
            keyfile=str(key_file) if key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )


class Connection:
    """A single broker connection; made by the uplink thread, used only from it."""

    def __init__(
        self,
        config: UplinkConfig,
        *,
        will: Will,
        stop: threading.Event,
        on_message: Callable[[mqtt.MQTTMessage], None],
        on_lost: Callable[[], None],
        ack_delays: collections.deque[float] | None = None,
    ) -> None:
        self._config = config
        self._ack_delays = ack_delays
        self._sent_at: dict[int, float] = {}
        self._stop = stop
        self._on_message_cb = on_message
        self._on_lost = on_lost
        self._cv = threading.Condition()
        self._connack: ReasonCode | None = None
        self._connected = False
        self._outcomes: dict[int, ReasonCode] = {}
        self._dropped = False  # the socket closed, whether or not a CONNACK came first
        self.max_packet_size: int | None = None
        self.disconnect_reason = ""
        # Why connecting failed in a way retrying soon will not mend (certificate,
        # credentials); None when the broker was merely unreachable.
        self.refusal: str | None = None
        self.failure = ""  # why open() failed, in one line, whatever the cause
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.effective_client_id,
            protocol=mqtt.MQTTv5,
            # Reconnecting is the uplink's job, with a new client (see module doc).
            reconnect_on_failure=False,
        )
        broker = config.broker
        log_in(
            client,
            broker,
            broker.password,
            ca_file=config.ca_file,
            cert_file=config.cert_file,
            key_file=config.key_file,
        )
        client.will_set(will.topic, will.payload, qos=1, retain=True)
        client.connect_timeout = config.connect_timeout_s
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_message = self._handle_message
        self._client = client

    # -- lifecycle ---------------------------------------------------------------

    def open(self) -> bool:
        """Connect and wait for a successful CONNACK; False (and logged) otherwise."""
        broker = self._config.broker
        try:
            self._client.connect(
                broker.host, broker.port, keepalive=self._config.keepalive_s, clean_start=True
            )
        except ssl.SSLError as exc:  # before OSError, which it derives from
            self.refusal = self.failure = tls_refusal(exc)
            return False
        except (OSError, ValueError) as exc:  # ValueError: a host name IDNA cannot encode
            self.failure = f"unreachable: {exc}"
            log.info("broker %s:%d unreachable: %s", broker.host, broker.port, exc)
            return False
        self._client.loop_start()
        with self._cv:
            self._cv.wait_for(
                lambda: self._connack is not None or self._stop.is_set() or self._dropped,
                timeout=self._config.connect_timeout_s,
            )
            connack = self._connack
            dropped = self._dropped
        if connack is None and dropped and broker.tls:
            # TLS 1.3: the client's handshake ends before the server has checked
            # the client certificate, so a refused one shows only as a closed link.
            self.refusal = (
                "broker closed the TLS link before answering: client certificate refused?"
            )
        elif connack is not None and connack.is_failure:
            self.refusal = f"broker refused the connection: {connack}"
        elif connack is None:
            self.failure = f"no answer within {self._config.connect_timeout_s:g} s"
            log.warning(
                "broker did not answer the connection within %g s", self._config.connect_timeout_s
            )
        if connack is None or connack.is_failure:
            self.failure = self.refusal or self.failure
            self.close()
            return False
        return True

    def close(self, *, last_words: Will | None = None) -> None:
        """Optionally publish a final retained message, then disconnect and end paho's thread."""
        if last_words is not None and self.connected:
            self.publish(
                last_words.topic, last_words.payload, retain=True, timeout=2.0, interruptible=False
            )
        try:
            self._client.disconnect()
            # paho writes DISCONNECT from its own thread; stopping that thread
            # first would drop the socket bare and make the broker send the will.
            with self._cv:
                self._cv.wait_for(lambda: not self._connected, timeout=2.0)
        finally:
            self._client.loop_stop()

    def interrupt(self) -> None:
        """Wake any wait in this connection (called by ``stop``)."""
        with self._cv:
            self._cv.notify_all()

    @property
    def connected(self) -> bool:
        """Whether the connection is up."""
        with self._cv:
            return self._connected

    @property
    def disconnected(self) -> bool:
        """True once a connection that was up has dropped."""
        return self._connack is not None and not self._connected

    # -- traffic -----------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        user_properties: Sequence[tuple[str, str]] = (),
        timeout: float | None = None,
        interruptible: bool = True,
    ) -> PublishOutcome:
        """Publish at QoS 1 and wait for the broker's PUBACK (or the connection's end)."""
        info = self._client.publish(
            topic, payload, qos=1, retain=retain, properties=self._properties(user_properties)
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return PublishOutcome(Delivery.LOST, reason=mqtt.error_string(info.rc))
        mid = info.mid
        with self._cv:
            if self._ack_delays is not None and mid not in self._outcomes:
                self._sent_at[mid] = time.perf_counter()
            # on_publish may already have run: outcomes are kept by mid until taken.
            self._cv.wait_for(
                lambda: (
                    mid in self._outcomes
                    or not self._connected
                    or (interruptible and self._stop.is_set())
                ),
                timeout=self._config.ack_timeout_s if timeout is None else timeout,
            )
            code = self._outcomes.pop(mid, None)
            connected = self._connected
        if code is not None:
            delivery = Delivery.REFUSED if code.is_failure else Delivery.ACKED
            return PublishOutcome(delivery, code.value, str(code))
        if not connected:
            return PublishOutcome(Delivery.LOST, reason=self.disconnect_reason)
        if self._stop.is_set():
            return PublishOutcome(Delivery.STOPPED)
        return PublishOutcome(Delivery.TIMEOUT)

    def publish_nowait(self, topic: str, payload: bytes) -> None:
        """QoS 0, for heartbeats: the next one replaces a lost one."""
        self._client.publish(topic, payload, qos=0, properties=self._properties(()))

    def subscribe(self, topics: Sequence[str]) -> None:
        """Subscribe at QoS 1; paho sends it now, the SUBACK is not waited for."""
        if topics:
            self._client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in topics])

    # -- paho callbacks (paho's network thread) -----------------------------------

    def _properties(self, user_properties: Sequence[tuple[str, str]]) -> Properties:
        # paho's Properties.__init__ carries no annotations.
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.PayloadFormatIndicator = 1
        properties.ContentType = "application/json"
        if user_properties:
            properties.UserProperty = list(user_properties)
        return properties

    def _handle_connect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._cv:
            self._connack = reason_code
            self._connected = not reason_code.is_failure
            if properties is not None and hasattr(properties, "MaximumPacketSize"):
                self.max_packet_size = int(properties.MaximumPacketSize)
            self._cv.notify_all()

    def _handle_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        with self._cv:
            was_connected = self._connected
            self._connected = False
            self._dropped = True
            self.disconnect_reason = str(reason_code)
            self._cv.notify_all()
        if was_connected:
            log.info("connection to broker lost: %s", reason_code)
            self._on_lost()

    def _handle_publish(
        self,
        _client: mqtt.Client,
        _userdata: object,
        mid: int,
        reason_code: ReasonCode,
        _properties: Properties,
    ) -> None:
        with self._cv:
            self._outcomes[mid] = reason_code
            sent = self._sent_at.pop(mid, None)
            if sent is not None and self._ack_delays is not None:
                self._ack_delays.append(time.perf_counter() - sent)
            self._cv.notify_all()

    def _handle_message(
        self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage
    ) -> None:
        # An exception escaping here would end paho's network thread.
        try:
            self._on_message_cb(msg)
        except Exception:
            log.exception("downlink handler failed on a message on %s", msg.topic)
