"""The collector's MQTT client: credentials and TLS in one place, and a lean PUBLISH path.

paho decodes every PUBLISH's properties into a ``Properties`` object through a
generic table walk, and the uplink's signature travels as three user
properties (scanner/uplink/signing.py): on one-event messages that walk was
about 100 us of the 300 us paho's thread spent per message, most of the GIL
time a collector has. ``IngestClient`` reads the one shape the units send (QoS
0 or 1, user properties only) straight from the packet and hands topic,
payload and properties to one callback; any other PUBLISH (QoS 2, other
properties, a malformed string) goes through paho's own ``_handle_publish``
and ``on_message`` unchanged. paho has no public hook below ``on_message``, so
this overrides that one method in a subclass; tests/central run it against a
real Mosquitto, and pyproject.toml keeps paho below its next major version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from scanner.uplink.config import BrokerAddress, parse_broker_url
from scanner.uplink.session import log_in

if TYPE_CHECKING:
    from ops.collector import CollectorConfig

MAX_PROPERTIES = 16  # more than a unit ever sends; the rest are not read
_USER_PROPERTY = 0x26  # MQTT v5 3.3.2.3.7


@dataclass(frozen=True, slots=True)
class Delivery:
    """One PUBLISH as the collector needs it; ``mid`` is what its PUBACK names."""

    topic: str
    payload: bytes
    user_properties: tuple[tuple[str, str], ...]
    mid: int
    qos: int


Receiver = Callable[[Delivery], None]


def _utf8(data: bytes, start: int) -> tuple[str, int] | None:
    """An MQTT UTF-8 string at ``start`` and where it ends; None if paho should judge it."""
    end = start + 2 + (data[start] << 8 | data[start + 1])
    if end > len(data):
        return None
    try:
        text = data[start + 2 : end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    # MQTT 1.5.4 forbids U+0000 and U+FEFF (surrogates cannot come out of decode).
    if "\x00" in text or "\ufeff" in text:
        return None
    return text, end


def _varint(data: bytes, pos: int) -> tuple[int, int] | None:
    """A variable byte integer (MQTT 1.5.5) at ``pos`` and where it ends."""
    value, shift = 0, 0
    while pos < len(data) and shift <= 21:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
    return None


def _user_properties(packet: bytes, pos: int, end: int) -> tuple[tuple[str, str], ...] | None:
    """The properties between ``pos`` and ``end`` if all are user properties, else None."""
    properties: list[tuple[str, str]] = []
    while pos < end:
        if packet[pos] != _USER_PROPERTY or pos + 5 > end:
            return None
        key = _utf8(packet, pos + 1)
        if key is None or key[1] + 2 > end:
            return None
        value = _utf8(packet, key[1])
        if value is None or value[1] > end:
            return None
        if len(properties) < MAX_PROPERTIES:
            properties.append((key[0], value[0]))
        pos = value[1]
    return tuple(properties)


def decode_publish(header: int, packet: bytes) -> Delivery | None:
    """Decode the units' kind of MQTT v5 PUBLISH; None for anything else (paho decodes that)."""
    qos = (header & 0x06) >> 1
    if qos > 1 or len(packet) < 3:
        return None
    topic = _utf8(packet, 0)
    if topic is None:
        return None
    pos = topic[1]
    mid = 0
    if qos:
        if pos + 2 > len(packet):
            return None
        mid = packet[pos] << 8 | packet[pos + 1]
        pos += 2
    length = _varint(packet, pos)
    if length is None or length[0] + length[1] > len(packet):
        return None
    end = length[0] + length[1]
    properties = _user_properties(packet, length[1], end)
    if properties is None:
        return None
    return Delivery(topic[0], bytes(packet[end:]), properties, mid, qos)


def delivery_of(message: mqtt.MQTTMessage) -> Delivery:
    """What paho's own decoding gave (the slow path), in the same shape."""
    found = getattr(message.properties, "UserProperty", None) or []
    properties = tuple((str(k), str(v)) for k, v in found[:MAX_PROPERTIES])
    return Delivery(message.topic, bytes(message.payload), properties, message.mid, message.qos)


class IngestClient(mqtt.Client):
    """paho's client, MQTT v5 with manual acknowledgement, handing PUBLISHes to ``receiver``."""

    def __init__(self, client_id: str, receiver: Receiver) -> None:
        super().__init__(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        self._receiver = receiver
        self.on_message = self._slow_message

    def _handle_publish(self) -> MQTTErrorCode:
        packet: Any = self._in_packet
        delivery = decode_publish(packet["command"], packet["packet"])
        if delivery is None:
            return super()._handle_publish()
        # What paho would do for QoS 0 and 1 with manual_ack: deliver, no PUBACK yet.
        with self._in_callback_mutex:
            self._receiver(delivery)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _slow_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self._receiver(delivery_of(msg))


def make_client(config: CollectorConfig, receiver: Receiver) -> tuple[IngestClient, BrokerAddress]:
    """The client and where it connects: the one place credentials and TLS are set up."""
    client = IngestClient(config.client_id, receiver)
    broker = parse_broker_url(config.broker_url)
    if not broker.tls and (config.ca_file or config.cert_file):
        raise ValueError("--ca-file/--cert-file need an mqtts:// broker")
    password = config.password if config.password is not None else broker.password
    log_in(
        client,
        broker,
        password,
        ca_file=config.ca_file,
        cert_file=config.cert_file,
        key_file=config.key_file,
    )
    client.reconnect_delay_set(1, 5)
    return client, broker
