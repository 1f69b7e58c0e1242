"""The uplink over mqtts:// against a real Mosquitto with certificates from a throwaway CA."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.broker import Receiver, TlsBroker
from support.pki import CertPair, Pki
from support.uplink import fast_config, scan_decision
from support.waiting import wait_until

from scanner.outbox.queue import Outbox
from scanner.trust.identity import device_id_for
from scanner.uplink.config import UplinkConfig
from scanner.uplink.service import Uplink


class Alerts:
    """What the uplink reported through its alert sink, as the daemon's outbox would get it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []

    def __call__(self, code: str, detail: Mapping[str, object]) -> None:
        self.seen.append((code, dict(detail)))


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@pytest.fixture
def start_broker(
    tmp_path: Path, pki: Pki, mosquitto_binary: str
) -> Iterator[Callable[..., TlsBroker]]:
    started: list[TlsBroker] = []

    def start(server: CertPair | None = None, **kwargs: object) -> TlsBroker:
        workdir = tmp_path / f"broker{len(started)}"
        broker = TlsBroker(workdir, pki, server, binary=mosquitto_binary, **kwargs)
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.kill()


def _uplink(
    tmp_path: Path, config: UplinkConfig, key: SigningKey, alerts: Alerts | None = None
) -> tuple[Uplink, Outbox]:
    outbox = Outbox(tmp_path / "state")
    return Uplink(config, outbox, key, on_alert=alerts), outbox


@pytest.mark.slow
def test_batches_over_mqtts_arrive_exactly_once_through_a_broker_restart(
    tmp_path: Path, pki: Pki, start_broker: Callable[..., TlsBroker]
) -> None:
    broker = start_broker(persistence=True)
    receiver = Receiver(broker.plain_port, client_id="central-tls", persistent=True)
    key = SigningKey.generate()
    device = device_id_for(key.verify_key)
    config = fast_config(broker, tmp_path / "state", device, ca_file=pki.ca_file)
    assert config.broker.tls
    assert config.broker.host == "localhost"
    uplink, outbox = _uplink(tmp_path, config, key)
    uplink.start()
    try:
        assert wait_until(lambda: uplink.connected)
        first = [outbox.record(scan_decision(i, device)) for i in range(200)]
        assert receiver.wait_for_seqs(device, set(first))
        broker.stop()
        assert wait_until(lambda: not uplink.connected)
        second = [outbox.record(scan_decision(i, device)) for i in range(200, 400)]
        broker.start()
        assert receiver.wait_for_seqs(device, set(first + second), timeout=60)
        assert wait_until(lambda: outbox.depth() == 0)
    finally:
        uplink.stop()
        receiver.close()
        outbox.close()
    assert [receiver.seq_counts[(device, seq)] for seq in first + second] == [1] * 400
    assert uplink.stats().link_refusal is None


BAD_LINKS = {
    # OpenSSL names the chain problem (unknown issuer or self-signed root in chain).
    "wrong_ca": "broker certificate refused: ",
    "expired": "certificate has expired",
    "not_yet_valid": "certificate is not yet valid",
    "wrong_host": "Hostname mismatch",
}


@pytest.mark.parametrize("variant", sorted(BAD_LINKS))
def test_a_bad_broker_certificate_is_refused_once_with_an_alert_and_no_tight_retry_loop(
    tmp_path: Path,
    pki: Pki,
    start_broker: Callable[..., TlsBroker],
    variant: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = {
        "expired": pki.expired_server,
        "not_yet_valid": pki.future_server,
        "wrong_host": pki.wrong_host_server,
    }.get(variant, pki.server)()
    broker = start_broker(server)
    receiver = Receiver(broker.plain_port)
    trusted = Pki(tmp_path / "other-ca", "Another CA").ca_file if variant == "wrong_ca" else None
    key = SigningKey.generate()
    device = device_id_for(key.verify_key)
    # A tight loop would try 20 times a second at the 0.05 s minimum delay.
    config = fast_config(
        broker,
        tmp_path / "state",
        device,
        ca_file=trusted or pki.ca_file,
        reconnect_max_delay_s=1.0,
    )
    alerts = Alerts()
    uplink, outbox = _uplink(tmp_path, config, key, alerts)
    seqs = [outbox.record(scan_decision(i, device)) for i in range(5)]
    caplog.set_level(logging.INFO, logger="scanner.uplink")
    uplink.start()
    try:
        assert wait_until(lambda: alerts.seen)
        time.sleep(2.0)  # watch the retry pace: about one attempt a second at most
        attempts = uplink.stats().connect_attempts
    finally:
        uplink.stop()
        receiver.close()
    assert 1 <= attempts <= 4
    [(code, detail)] = alerts.seen
    assert code == "broker_refused"
    assert BAD_LINKS[variant] in str(detail["reason"])
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert BAD_LINKS[variant] in lines[0]
    assert "\n" not in lines[0]
    # Nothing was sent and nothing was lost: the events wait in the outbox.
    assert receiver.seqs(device) == set()
    assert outbox.depth() == len(seqs)
    outbox.close()


@pytest.mark.slow
def test_mutual_tls_with_a_certificate_for_the_device_key_delivers_and_without_is_refused(
    tmp_path: Path, pki: Pki, start_broker: Callable[..., TlsBroker]
) -> None:
    broker = start_broker()
    receiver = Receiver(broker.plain_port)
    key = SigningKey.generate()
    device = device_id_for(key.verify_key)
    client = pki.device_client(bytes(key), device)
    good = fast_config(
        broker,
        tmp_path / "state",
        device,
        broker_url=broker.mtls_url,
        ca_file=pki.ca_file,
        cert_file=client.cert,
        key_file=client.key,
    )
    uplink, outbox = _uplink(tmp_path, good, key)
    uplink.start()
    try:
        seqs = [outbox.record(scan_decision(i, device)) for i in range(20)]
        uplink.wake()
        assert receiver.wait_for_seqs(device, set(seqs))
    finally:
        uplink.stop()
        outbox.close()
    # The broker took the device ID from the certificate: the ACL applies to it.
    assert "cp-" in device

    alerts = Alerts()
    bare = fast_config(
        broker,
        tmp_path / "state2",
        device,
        broker_url=broker.mtls_url,
        ca_file=pki.ca_file,
    )
    outbox2 = Outbox(tmp_path / "state2")
    refused = Uplink(bare, outbox2, key, on_alert=alerts)
    refused.start()
    try:
        assert wait_until(lambda: alerts.seen)
    finally:
        refused.stop()
        receiver.close()
        outbox2.close()
    assert "client certificate" in str(alerts.seen[0][1]["reason"])
