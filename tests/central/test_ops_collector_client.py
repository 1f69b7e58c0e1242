"""The lean PUBLISH decoder agrees with paho's and hands paho whatever it cannot read."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ops.collector_client import MAX_PROPERTIES, decode_publish

# MQTT strings: no U+0000, no U+FEFF, no surrogates (MQTT 1.5.4).
mqtt_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"), max_size=40
)
user_properties = st.lists(st.tuples(mqtt_text, mqtt_text), max_size=20)


def _packet_bytes(
    topic: str, qos: int, mid: int, properties: Properties, payload: bytes
) -> tuple[int, bytes]:
    encoded = topic.encode()
    body = len(encoded).to_bytes(2, "big") + encoded
    if qos:
        body += mid.to_bytes(2, "big")
    return 0x30 | qos << 1, body + bytes(properties.pack()) + payload


def _properties(user: list[tuple[str, str]]) -> Properties:
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if user:
        properties.UserProperty = user
    return properties


@settings(max_examples=300, deadline=None)
@given(
    topic=mqtt_text.filter(bool),
    qos=st.sampled_from([0, 1]),
    mid=st.integers(1, 65535),
    user=user_properties,
    payload=st.binary(max_size=300),
)
def test_units_publishes_decode_as_paho_decodes_them(
    topic: str, qos: int, mid: int, user: list[tuple[str, str]], payload: bytes
) -> None:
    header, packet = _packet_bytes(topic, qos, mid, _properties(user), payload)
    delivery = decode_publish(header, bytearray(packet))
    reference = _packet.decode_publish(header, bytearray(packet), MQTTProtocolVersion.MQTTv5)
    assert delivery is not None
    assert delivery.topic == reference.topic.decode()
    assert delivery.payload == bytes(reference.payload)
    assert delivery.qos == qos
    assert delivery.mid == (mid if qos else 0)
    found = getattr(reference.properties, "UserProperty", [])
    assert list(delivery.user_properties) == found[:MAX_PROPERTIES]


def test_other_properties_and_qos_2_are_left_to_paho() -> None:
    expiry = _properties([("sig-alg", "ed25519")])
    expiry.MessageExpiryInterval = 60
    assert decode_publish(*_packet_bytes("t/x", 1, 7, expiry, b"{}")) is None
    assert decode_publish(*_packet_bytes("t/x", 2, 7, _properties([]), b"{}")) is None
    bad_topic = bytearray(_packet_bytes("t/x", 1, 7, _properties([]), b"{}")[1])
    bad_topic[2] = 0xFF  # not UTF-8
    assert decode_publish(0x32, bad_topic) is None
    nul = _packet_bytes("t/\x00", 1, 7, _properties([]), b"{}")
    assert decode_publish(*nul) is None


@settings(max_examples=500, deadline=None)
@given(
    header=st.integers(0x30, 0x3F),
    data=st.binary(max_size=80),
    cut=st.integers(0, 200),
    user=user_properties,
)
def test_truncated_or_arbitrary_packets_never_raise(
    header: int, data: bytes, cut: int, user: list[tuple[str, str]]
) -> None:
    decode_publish(header, bytearray(data))
    _, packet = _packet_bytes("checkpoint/v1/devices/x/scans", 1, 9, _properties(user), data)
    delivery = decode_publish(0x32, bytearray(packet[:cut]))
    if delivery is not None:  # a cut inside the payload still frames a PUBLISH
        assert len(delivery.user_properties) == min(len(user), MAX_PROPERTIES)
