"""The uplink against a real Mosquitto: topics, signatures, status, heartbeats, downlink."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from support.broker import Broker, Receiver
from support.uplink import fast_config, scan_decision
from support.waiting import wait_until

from scanner.model import ClockState
from scanner.outbox.events import OutboxEvent
from scanner.outbox.queue import Outbox
from scanner.uplink import signing
from scanner.uplink.config import UplinkConfig, parse_broker_url
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage
from scanner.uplink.service import Uplink

DEVICE = "dev-test"


def config(broker: Broker, state: Path, **overrides: object) -> UplinkConfig:
    return fast_config(broker, state, DEVICE, **{"heartbeat_interval_s": 0.2, **overrides})


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "state") as instance:
        yield instance


# -- configuration --------------------------------------------------------------------


def test_broker_url_with_credentials_and_default_ports() -> None:
    plain = parse_broker_url("mqtt://broker.example")
    secure = parse_broker_url("mqtts://dev%2F1:p%40ss@broker.example:9999")
    assert (plain.host, plain.port, plain.tls) == ("broker.example", 1883, False)
    assert (secure.port, secure.tls) == (9999, True)
    assert (secure.username, secure.password) == ("dev/1", "p@ss")
    assert parse_broker_url("mqtts://h").port == 8883


@pytest.mark.parametrize(
    "url", ["http://h", "mqtt://", "mqtt://h/path", "mqtt://h:notaport", "mqtt://h?x=1"]
)
def test_bad_broker_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="broker URL"):
        parse_broker_url(url)


def test_config_rejects_bad_values_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"uplink\.device_id"):
        UplinkConfig("mqtt://h", "a/b", tmp_path)
    with pytest.raises(ValueError, match=r"uplink\.topic_root"):
        UplinkConfig("mqtt://h", "d", tmp_path, topic_root="x/#")
    with pytest.raises(ValueError, match=r"uplink\.cert_file"):
        UplinkConfig("mqtts://h", "d", tmp_path, cert_file=tmp_path / "c")
    with pytest.raises(ValueError, match=r"uplink\.ca_file"):
        UplinkConfig("mqtt://h", "d", tmp_path, ca_file=tmp_path / "ca")


def test_config_credentials_override_the_url(tmp_path: Path) -> None:
    cfg = UplinkConfig("mqtts://u:p@h", "d", tmp_path, password="secret")
    assert (cfg.broker.username, cfg.broker.password) == ("u", "secret")
    assert cfg.effective_client_id == "d"


def test_a_password_in_clear_to_another_host_is_refused_unless_allowed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="in clear"):
        UplinkConfig("mqtt://broker.example:1883", "d", tmp_path, username="u", password="pw")
    allowed = UplinkConfig(
        "mqtt://broker.example:1883", "d", tmp_path, password="pw",
        allow_plaintext_credentials=True,
    )  # fmt: skip
    assert allowed.broker.password == "pw"
    # Loopback never leaves the machine: a local test broker needs no TLS.
    assert UplinkConfig("mqtt://127.0.0.1:1883", "d", tmp_path, password="pw").broker.password


def test_broker_url_errors_never_show_the_password(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad port") as error:
        UplinkConfig("mqtt://dev:hunter2@10.9.9.9:99999", "d", tmp_path)
    assert "hunter2" not in str(error.value)


# -- publishing -----------------------------------------------------------------------


def test_batches_arrive_in_order_signed_and_the_outbox_empties(
    broker: Broker, receiver: Receiver, outbox: Outbox, key: SigningKey, tmp_path: Path
) -> None:
    seqs = [outbox.record(scan_decision(i, DEVICE)) for i in range(300)]
    uplink = Uplink(config(broker, tmp_path / "state", batch_max_events=50), outbox, key)
    uplink.start()
    try:
        assert receiver.wait_for_seqs(DEVICE, set(seqs))
        assert wait_until(lambda: outbox.depth() == 0)
    finally:
        uplink.stop()
    received = [e["seq"] for b in receiver.batches for e in b["events"]]  # type: ignore[attr-defined]
    assert received == seqs
    for topic, payload, props in receiver.messages_on("/scans"):
        assert topic == f"checkpoint/v1/devices/{DEVICE}/scans"
        assert signing.verify(key.verify_key, topic, payload, props)
        assert not signing.verify(key.verify_key, topic, payload + b" ", props)
        assert not signing.verify(SigningKey.generate().verify_key, topic, payload, props)
    first = receiver.batches[0]
    assert first["device_id"] == DEVICE
    assert first["store"] == outbox.store_id
    assert first["count"] == len(first["events"]) <= 50  # type: ignore[arg-type]


def test_status_is_born_online_and_says_offline_on_stop_with_a_growing_session(
    broker: Broker, receiver: Receiver, outbox: Outbox, key: SigningKey, tmp_path: Path
) -> None:
    sessions = []
    for _ in range(2):
        uplink = Uplink(config(broker, tmp_path / "state"), outbox, key)
        uplink.start()
        assert wait_until(lambda u=uplink: u.connected)  # type: ignore[misc]
        sessions.append(uplink.stats().session)
        uplink.stop()
    assert wait_until(lambda: len(receiver.messages_on("/status")) >= 4)
    states = [json.loads(p) for _, p, _ in receiver.messages_on("/status")]
    assert [(s["state"], s["session"]) for s in states] == [
        ("online", sessions[0]),
        ("offline", sessions[0]),
        ("online", sessions[1]),
        ("offline", sessions[1]),
    ]
    assert sessions[1] > sessions[0]
    assert states[1]["reason"] == "shutdown"


def test_a_dashboard_connecting_later_sees_the_retained_online_status(
    broker: Broker, outbox: Outbox, key: SigningKey, tmp_path: Path
) -> None:
    uplink = Uplink(config(broker, tmp_path / "state"), outbox, key)
    uplink.start()
    assert wait_until(lambda: uplink.connected)
    session = uplink.stats().session
    receiver = Receiver(broker.port)
    try:
        assert receiver.wait_for_message("/status")
        retained = json.loads(receiver.messages_on("/status")[-1][1])
        assert (retained["state"], retained["session"]) == ("online", session)
    finally:
        receiver.close()
        uplink.stop()


def test_heartbeats_carry_the_daemons_figures_and_the_outbox_state(
    broker: Broker, receiver: Receiver, outbox: Outbox, key: SigningKey, tmp_path: Path
) -> None:
    def figures() -> dict[str, object]:
        return {"uptime_s": 12.5, "frames_per_s": 29.7, "decode_ms": {"p50": 3.1, "p95": 8.0}}

    uplink = Uplink(config(broker, tmp_path / "state"), outbox, key, heartbeat=figures)
    uplink.start()
    try:
        assert receiver.wait_for_message("/heartbeat")
    finally:
        uplink.stop()
    beat = json.loads(receiver.messages_on("/heartbeat")[0][1])
    assert beat["uptime_s"] == 12.5
    assert beat["decode_ms"]["p95"] == 8.0
    assert beat["device_id"] == DEVICE
    assert set(beat["outbox"]) >= {"depth", "oldest_unsent_age_s", "fill_level"}


def test_alert_events_are_logged_in_batches_and_copied_to_the_alerts_topic(
    broker: Broker, receiver: Receiver, outbox: Outbox, key: SigningKey, tmp_path: Path
) -> None:
    alert = OutboxEvent.alert(
        "camera_fault",
        {"attempt": 3},
        device_id=DEVICE,
        checkpoint_id="cp-1",
        wall_time=1.0,
        clock=ClockState.UNSYNCED,
    )
    seq = outbox.record(alert)
    uplink = Uplink(config(broker, tmp_path / "state"), outbox, key)
    uplink.start()
    try:
        assert receiver.wait_for_seqs(DEVICE, {seq})
        assert receiver.wait_for_message("/alerts")
        uplink.alert_now("outbox_full", "the outbox refused a scan", {"depth": 7})
        assert wait_until(lambda: len(receiver.messages_on("/alerts")) >= 2)
    finally:
        uplink.stop()
    (topic, payload, props), (_, transient, _) = receiver.messages_on("/alerts")[:2]
    durable = json.loads(payload)
    assert (durable["seq"], durable["code"], durable["durable"]) == (seq, "camera_fault", True)
    assert signing.verify(key.verify_key, topic, payload, props)
    assert json.loads(transient)["seq"] is None
    assert json.loads(transient)["durable"] is False


def test_a_failure_puback_is_not_taken_as_delivery(
    tmp_path: Path, mosquitto_binary: str, outbox: Outbox, key: SigningKey
) -> None:
    # Mosquitto answers an ACL-denied QoS 1 publish with PUBACK 0x87 (v5).
    deny_scans = (
        f"topic readwrite checkpoint/v1/devices/{DEVICE}/status\n"
        f"topic write checkpoint/v1/devices/{DEVICE}/heartbeat\n"
        "topic read #\n"
    )
    broker = Broker(tmp_path / "b", acl=deny_scans, binary=mosquitto_binary)
    broker.start()
    try:
        seqs = [outbox.record(scan_decision(i, DEVICE)) for i in range(5)]
        uplink = Uplink(config(broker, tmp_path / "state"), outbox, key)
        uplink.start()
        try:
            assert wait_until(lambda: uplink.stats().refusals >= 1)
            assert outbox.depth() == len(seqs)
            assert uplink.stats().events_sent == 0
        finally:
            uplink.stop()
    finally:
        broker.kill()


# -- downlink hand-off -------------------------------------------------------------------


def test_downlink_messages_reach_the_callback_with_their_properties(
    broker: Broker, outbox: Outbox, key: SigningKey, tmp_path: Path
) -> None:
    got: list[DownlinkMessage] = []
    arrived = threading.Condition()

    def handle(message: DownlinkMessage) -> None:
        with arrived:
            got.append(message)
            arrived.notify_all()

    central = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ops", protocol=mqtt.MQTTv5)
    central.connect("127.0.0.1", broker.port)
    central.loop_start()
    try:
        # Retained before the device connects: a device that was offline still gets it.
        central.publish("checkpoint/v1/trust/bundle", b"\xa1bundle", qos=1, retain=True)
        uplink = Uplink(config(broker, tmp_path / "state"), outbox, key, on_downlink=handle)
        uplink.start()
        try:
            assert wait_until(lambda: uplink.connected)
            assert wait_until(lambda: len(got) >= 1)
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.UserProperty = [("sig", "abc")]
            props.CorrelationData = b"c-1"
            central.publish(
                f"checkpoint/v1/devices/{DEVICE}/commands", b"cmd", qos=1, properties=props
            )
            central.publish("checkpoint/v1/devices/other/commands", b"not-mine", qos=1)
            central.publish("checkpoint/v1/trust/revocations", b"rev", qos=1)
            central.publish(f"checkpoint/v1/devices/{DEVICE}/trust", b"catchup", qos=1)
            assert wait_until(lambda: len(got) >= 4)
        finally:
            uplink.stop()
    finally:
        central.loop_stop()
        central.disconnect()
    by_kind = {message.kind: message for message in got}
    assert by_kind[DownlinkKind.TRUST_BUNDLE].payload == b"\xa1bundle"
    assert by_kind[DownlinkKind.TRUST_BUNDLE].retained
    command = by_kind[DownlinkKind.COMMAND]
    assert command.payload == b"cmd"
    assert command.user_properties == (("sig", "abc"),)
    assert command.correlation_data == b"c-1"
    assert by_kind[DownlinkKind.REVOCATIONS].payload == b"rev"
    assert by_kind[DownlinkKind.TRUST_CATCHUP].payload == b"catchup"
    assert all(message.payload != b"not-mine" for message in got)


def test_a_failing_downlink_handler_does_not_break_the_link(
    broker: Broker, receiver: Receiver, outbox: Outbox, key: SigningKey, tmp_path: Path
) -> None:
    def broken(message: DownlinkMessage) -> None:
        raise RuntimeError("handler bug")

    uplink = Uplink(config(broker, tmp_path / "state"), outbox, key, on_downlink=broken)
    uplink.start()
    central = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ops2", protocol=mqtt.MQTTv5)
    central.connect("127.0.0.1", broker.port)
    central.loop_start()
    try:
        assert wait_until(lambda: uplink.connected)
        central.publish(f"checkpoint/v1/devices/{DEVICE}/commands", b"x", qos=1).wait_for_publish()
        seq = outbox.record(scan_decision(1, DEVICE))
        uplink.wake()
        assert receiver.wait_for_seqs(DEVICE, {seq})
        assert uplink.stats().connections == 1
    finally:
        central.loop_stop()
        central.disconnect()
        uplink.stop()


def test_trust_catchup_requests_and_command_results_are_published(
    broker: Broker, receiver: Receiver, outbox: Outbox, key: SigningKey, tmp_path: Path
) -> None:
    uplink = Uplink(config(broker, tmp_path / "state"), outbox, key)
    uplink.start()
    try:
        uplink.request_trust_catchup(bundle_version=3, revocation_serial=41)
        uplink.publish_command_result({"command_seq": 5, "result": "done"})
        assert receiver.wait_for_message("/trust-request")
        assert receiver.wait_for_message("/command-results")
    finally:
        uplink.stop()
    request = json.loads(receiver.messages_on("/trust-request")[0][1])
    assert (request["bundle_version"], request["revocation_serial"]) == (3, 41)
    assert request["reply_to"] == f"checkpoint/v1/devices/{DEVICE}/trust"
