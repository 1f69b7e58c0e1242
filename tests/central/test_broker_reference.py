"""ops/broker/mosquitto.conf, started as it ships (paths and ports moved to the test's own)."""

from __future__ import annotations

import getpass
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion
from support.broker import Broker, free_port
from support.pki import Pki
from support.provisioning import device_id, enrolled, make_keys, password
from support.uplink import scan_decision
from support.waiting import wait_until

from provisioning.mosquitto import password_hash
from scanner.outbox.queue import Outbox
from scanner.trust.keys import load_private_key
from scanner.uplink.config import UplinkConfig
from scanner.uplink.service import Uplink

REFERENCE = Path(__file__).parents[2] / "ops/broker/mosquitto.conf"
ROOT = "checkpoint/v1"


class ReferenceBroker(Broker):
    """Mosquitto running the shipped configuration, with its paths and ports made local."""

    def __init__(self, workdir: Path, files: Path) -> None:
        super().__init__(workdir)
        self.files = files
        self.mtls_port = free_port()

    def config_lines(self) -> list[str]:
        text = REFERENCE.read_text()
        text = text.replace("/etc/mosquitto/checkpoint/", f"{self.files}/")
        text = text.replace("/var/lib/mosquitto/", f"{self.workdir}/")
        text = text.replace("listener 8883\n", f"listener {self.port} 127.0.0.1\n")
        text = text.replace("listener 8884\n", f"listener {self.mtls_port} 127.0.0.1\n")
        text = text.replace("log_dest syslog", "log_dest stderr")
        # Started as root, mosquitto would drop to user "mosquitto" and not read the temp dir.
        return [f"user {getpass.getuser()}", *text.splitlines()]


class Central:
    """The collector's login over TLS with a password: what it hears on the devices' topics."""

    def __init__(self, broker: ReferenceBroker, ca: Path) -> None:
        self.topics: list[str] = []
        self.sizes: list[int] = []
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, "central", protocol=mqtt.MQTTv5)
        self._client.username_pw_set("central", "central-secret")
        self._client.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
        self._client.on_connect = lambda c, u, f, r, p: c.subscribe(f"{ROOT}/devices/#", qos=1)
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect("localhost", broker.port)
        self._client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        self.topics.append(msg.topic)
        self.sizes.append(len(msg.payload))

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mosquitto_binary: str
) -> Iterator[tuple[ReferenceBroker, Pki, Path]]:
    k = tmp_path / "K"
    make_keys(capsys, k)
    pki = Pki(tmp_path / "files")
    server = pki.server()
    server.cert.rename(pki.dir / "server.pem")
    server.key.rename(pki.dir / "server.key")
    (pki.dir / "client-ca.pem").write_bytes(pki.ca_file.read_bytes())
    client_ca = ["--client-ca", str(pki.ca_file), "--client-ca-key", str(pki.ca_key_file)]
    files = pki.dir
    unit = enrolled(capsys, k, files, "RA", *client_ca)
    with (files / "passwd").open("a") as f:
        f.write(f"central:{password_hash('central-secret')}\n")
    with (files / "acl").open("a") as f:
        f.write(f"\nuser central\ntopic read {ROOT}/#\n")
    broker = ReferenceBroker(tmp_path / "broker", files)
    broker.start()
    yield broker, pki, unit
    broker.kill()


def _uplink(state: Path, unit: Path, url: str, **settings: object) -> tuple[Uplink, Outbox]:
    key: SigningKey = load_private_key(unit / "var/lib/checkpoint-scanner/identity/device.key")
    config = UplinkConfig(
        broker_url=url,
        device_id=device_id(unit),
        state_dir=state,
        reconnect_min_delay_s=0.05,
        reconnect_max_delay_s=0.3,
        poll_interval_s=0.05,
        **settings,  # type: ignore[arg-type]
    )
    outbox = Outbox(state)
    return Uplink(config, outbox, key), outbox


@pytest.mark.slow
def test_the_reference_broker_takes_units_over_tls_and_mutual_tls_within_its_size_limit(
    tmp_path: Path, site: tuple[ReferenceBroker, Pki, Path]
) -> None:
    broker, pki, unit = site
    central = Central(broker, pki.ca_file)
    device = device_id(unit)
    etc = unit / "etc/checkpoint-scanner"
    uplinks = []
    try:
        # A password login over TLS, and a certificate login on the mutual-TLS listener.
        for url, tls in (
            (f"mqtts://localhost:{broker.port}", {"username": device, "password": password(unit)}),
            (
                f"mqtts://localhost:{broker.mtls_port}",
                {
                    "cert_file": etc / "client.pem",
                    "key_file": unit / "var/lib/checkpoint-scanner/identity/device-tls.pem",
                },
            ),
        ):
            up, outbox = _uplink(
                tmp_path / f"state{len(uplinks)}", unit, url, ca_file=pki.ca_file, **tls
            )
            uplinks.append((up, outbox))
            # Enough for several full batches of the default 500 events.
            for i in range(1200):
                outbox.record(scan_decision(i, device))
            up.start()
            assert wait_until(lambda o=outbox: o.depth() == 0)  # type: ignore[misc]
            assert up.stats().refusals == 0
            up.stop()  # one client ID: the next login would take over this one's
    finally:
        for up, outbox in uplinks:
            up.stop()
            outbox.close()
        central.close()
    scans = [size for topic, size in zip(central.topics, central.sizes, strict=True)
             if topic.endswith("/scans")]  # fmt: skip
    assert len(scans) >= 2
    assert all(size <= 262144 for size in scans)
    broker.stop()
    # Persistence on: the broker saved its sessions when stopped.
    assert (broker.workdir / "mosquitto.db").exists()
