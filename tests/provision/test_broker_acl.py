"""The ACL enroll-accept writes, proven by what a real Mosquitto delivers, not by reading it."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from support.broker import TlsBroker
from support.pki import Pki
from support.provisioning import (
    AuthBroker,
    Client,
    device_id,
    enrolled,
    make_keys,
    password,
    run,
)
from support.waiting import wait_until

from provisioning.mosquitto import password_hash

ROOT = "checkpoint/v1"


def devices(r: Path) -> str:
    return f"{ROOT}/devices/{device_id(r)}"


def _central_account(tmp: Path) -> None:
    """The central system's own account, appended the way an operator would."""
    with (tmp / "passwd").open("a") as f:
        f.write(f"central:{password_hash('central-secret')}\n")
    with (tmp / "acl").open("a") as f:
        # homeassistant/#: decommission empties a retired unit's discovery configs.
        f.write(f"\nuser central\ntopic readwrite {ROOT}/#\ntopic readwrite homeassistant/#\n")


@pytest.fixture
def k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    keys = tmp_path / "K"
    make_keys(capsys, keys)
    return keys


@pytest.fixture
def two_units(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str], mosquitto_binary: str
) -> Iterator[tuple[AuthBroker, Path, Path]]:
    a = enrolled(capsys, k, tmp_path, "RA")
    b = enrolled(capsys, k, tmp_path, "RB")
    _central_account(tmp_path)
    broker = AuthBroker(tmp_path / "broker", tmp_path / "passwd", tmp_path / "acl")
    broker.start()
    yield broker, a, b
    broker.kill()


def _ready(client: Client, own_status: str) -> None:
    """Subscriptions are in force once the client hears its own message after them."""
    client.subscribe(own_status)
    client.publish(own_status)
    assert wait_until(lambda: own_status in client.received)


def test_a_cannot_publish_under_b_or_to_trust_as_the_broker_delivers(
    two_units: tuple[AuthBroker, Path, Path],
) -> None:
    broker, a, b = two_units
    central = Client(broker.port, "central", "central-secret")
    unit_b = Client(broker.port, device_id(b), password(b))
    unit_a = Client(broker.port, device_id(a), password(a))
    try:
        central.subscribe(f"{ROOT}/#")
        # Central must be listening before B speaks, or B's status can pass unheard.
        _ready(central, f"{ROOT}/central/ready")
        unit_b.subscribe(f"{ROOT}/trust/#")
        _ready(unit_b, f"{devices(b)}/status")
        assert unit_a.publish(f"{devices(b)}/scans").is_failure  # type: ignore[attr-defined]
        assert unit_a.publish(f"{devices(b)}/status").is_failure  # type: ignore[attr-defined]
        assert unit_a.publish(f"{ROOT}/trust/revocations").is_failure  # type: ignore[attr-defined]
        # A barrier: A's own message, sent after the refused ones, reaches central.
        assert not unit_a.publish(f"{devices(a)}/scans").is_failure  # type: ignore[attr-defined]
        assert wait_until(lambda: f"{devices(a)}/scans" in central.received)
        central.publish(f"{ROOT}/trust/barrier")
        assert wait_until(lambda: f"{ROOT}/trust/barrier" in unit_b.received)
    finally:
        for client in (unit_a, unit_b, central):
            client.close()
    assert f"{devices(b)}/scans" not in central.received
    assert central.received.count(f"{devices(b)}/status") == 1  # B's own, not A's
    assert f"{ROOT}/trust/revocations" not in central.received
    assert f"{ROOT}/trust/revocations" not in unit_b.received


def test_a_cannot_read_b_commands_even_with_a_wildcard(
    two_units: tuple[AuthBroker, Path, Path],
) -> None:
    broker, a, b = two_units
    central = Client(broker.port, "central", "central-secret")
    unit_a = Client(broker.port, device_id(a), password(a))
    unit_b = Client(broker.port, device_id(b), password(b))
    try:
        unit_a.subscribe(f"{devices(b)}/commands")
        unit_a.subscribe(f"{ROOT}/devices/+/commands")
        unit_a.subscribe(f"{ROOT}/#")
        unit_b.subscribe(f"{devices(b)}/commands")
        _ready(unit_a, f"{devices(a)}/status")
        _ready(unit_b, f"{devices(b)}/status")
        central.publish(f"{devices(b)}/commands")
        central.publish(f"{devices(a)}/commands")  # the barrier A may hear
        assert wait_until(lambda: f"{devices(a)}/commands" in unit_a.received)
        assert wait_until(lambda: f"{devices(b)}/commands" in unit_b.received)
    finally:
        for client in (unit_a, unit_b, central):
            client.close()
    assert f"{devices(b)}/commands" not in unit_a.received
    assert not any(topic.startswith(devices(b)) for topic in unit_a.received)


class TlsClient:
    """A paho v5 client presenting a client certificate on the mutual-TLS listener."""

    def __init__(self, broker: TlsBroker, cert: Path, key: Path) -> None:
        self.acks: list[object] = []
        self.connack: list[object] = []
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="t-mtls", protocol=mqtt.MQTTv5
        )
        self._client.tls_set(
            ca_certs=str(broker.pki.ca_file),
            certfile=str(cert),
            keyfile=str(key),
            cert_reqs=ssl.CERT_REQUIRED,
        )
        self._client.on_connect = lambda c, u, f, reason, p: self.connack.append(reason)
        self._client.on_publish = lambda c, u, mid, reason, p: self.acks.append(reason)
        self._client.connect("localhost", broker.mtls_port)
        self._client.loop_start()
        assert wait_until(lambda: self.connack)

    def publish(self, topic: str) -> object:
        count = len(self.acks)
        self._client.publish(topic, b"x", qos=1)
        assert wait_until(lambda: len(self.acks) > count)
        return self.acks[-1]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.mark.slow
def test_the_client_certificate_from_enrolment_logs_in_as_the_device_under_the_same_acl(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str], mosquitto_binary: str
) -> None:
    pki = Pki(tmp_path / "pki")
    client_ca = ["--client-ca", str(pki.ca_file), "--client-ca-key", str(pki.ca_key_file)]
    a = enrolled(capsys, k, tmp_path, "RA", *client_ca)
    b = enrolled(capsys, k, tmp_path, "RB", *client_ca)
    broker = TlsBroker(
        tmp_path / "broker",
        pki,
        password_file=tmp_path / "passwd",
        acl_file=tmp_path / "acl",
        binary=mosquitto_binary,
    )
    broker.start()
    etc = a / "etc/checkpoint-scanner"
    key = a / "var/lib/checkpoint-scanner/identity/device-tls.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    unit_a = TlsClient(broker, etc / "client.pem", key)
    try:
        assert not unit_a.connack[0].is_failure  # type: ignore[attr-defined]
        assert not unit_a.publish(f"{devices(a)}/scans").is_failure  # type: ignore[attr-defined]
        assert unit_a.publish(f"{devices(b)}/scans").is_failure  # type: ignore[attr-defined]
    finally:
        unit_a.close()
        broker.kill()
    config = (etc / "scanner.toml").read_text()
    assert 'cert_file = "/etc/checkpoint-scanner/client.pem"' in config


def _ha(r: Path, component: str = "sensor", object_id: str = "state") -> str:
    return f"homeassistant/{component}/{device_id(r)}/{object_id}/config"


def test_a_unit_publishes_home_assistant_discovery_only_for_its_own_node_id(
    tmp_path: Path, two_units: tuple[AuthBroker, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broker, a, b = two_units
    central = Client(broker.port, "central", "central-secret")
    unit_a = Client(broker.port, device_id(a), password(a))
    try:
        central.subscribe("homeassistant/#")
        _ready(central, "homeassistant/central/ready/config")
        own = _ha(a)
        assert not unit_a.publish(own, b'{"state_topic":"x"}', retain=True).is_failure  # type: ignore[attr-defined]
        assert not unit_a.publish(_ha(a, "binary_sensor", "connectivity")).is_failure  # type: ignore[attr-defined]
        assert unit_a.publish(_ha(b)).is_failure  # type: ignore[attr-defined]
        assert unit_a.publish(f"homeassistant/sensor/{device_id(a)}/state/state").is_failure  # type: ignore[attr-defined]
        assert unit_a.publish("homeassistant/status").is_failure  # type: ignore[attr-defined]
        assert unit_a.publish(f"homeassistant/sensor/{device_id(a)}/x/y/config").is_failure  # type: ignore[attr-defined]
        # A barrier: A's own message, sent after the refused ones, reaches central.
        barrier = _ha(a, "sensor", "barrier")
        assert not unit_a.publish(barrier).is_failure  # type: ignore[attr-defined]
        assert wait_until(lambda: barrier in central.received)
    finally:
        unit_a.close()
        central.close()
    assert own in central.received
    assert _ha(b) not in central.received
    assert not any(topic.endswith("/state/state") for topic in central.received)

    # Decommission A with central's account: its retained config goes, and so do its
    # password line and ACL block; B's and central's stay.
    secret = tmp_path / "central.password"
    secret.write_text("central-secret\n")
    secret.chmod(0o600)
    code, out, err = run(
        capsys, "decommission", "--device-id", device_id(a),
        "--broker", f"mqtt://central@127.0.0.1:{broker.port}", "--password-file", str(secret),
        "--mosquitto-passwd", str(tmp_path / "passwd"), "--mosquitto-acl", str(tmp_path / "acl"),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["password_removed"]
    assert summary["acl_removed"]
    assert own in summary["discovery_removed"]
    reader = Client(broker.port, "central", "central-secret")
    try:
        reader.subscribe("homeassistant/#")
        _ready(reader, "homeassistant/central/after/config")
    finally:
        reader.close()
    assert own not in reader.received  # no retained copy left
    passwd, acl = (tmp_path / "passwd").read_text(), (tmp_path / "acl").read_text()
    assert device_id(a) not in passwd
    assert device_id(a) not in acl
    assert f"user {device_id(b)}" in acl
    assert f"{device_id(b)}:" in passwd
    assert "user central" in acl
