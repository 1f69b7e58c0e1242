"""The collector over mqtts:// with a verified certificate; a broker it cannot trust is refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.broker import TlsBroker
from support.ops import DeviceFactory, enroll
from support.pki import Pki
from support.waiting import wait_until

from ops.collector import Collector, CollectorConfig
from ops.db import open_database
from ops.store import Store


def _count(url: str) -> int:
    db = open_database(url)
    try:
        return int(db.query("SELECT COUNT(*) FROM events", ())[0][0])
    finally:
        db.close()


@pytest.mark.slow
def test_the_collector_stores_scans_it_receives_over_mqtts(
    tmp_path: Path,
    mosquitto_binary: str,
    make_device: DeviceFactory,
) -> None:
    pki = Pki(tmp_path / "pki")
    broker = TlsBroker(tmp_path / "broker", pki, binary=mosquitto_binary)
    broker.start()
    url = f"sqlite:///{tmp_path}/ops.db"
    collector = Collector(
        CollectorConfig(broker_url=broker.url, ca_file=pki.ca_file), Store(open_database(url))
    )
    # The units in this test publish on the clear listener; the collector's link is under test.
    device = make_device(f"mqtt://127.0.0.1:{broker.plain_port}")
    enroll(url, device)
    try:
        collector.start()
        assert collector.wait_subscribed(10)
        device.connect()
        for _ in range(30):
            device.scan(time.time())
        assert wait_until(lambda: _count(url) == 30)
        assert collector.stats["refused"] == 0
    finally:
        collector.stop()
        collector.store.db.close()
        broker.kill()


def test_the_collector_does_not_subscribe_through_a_broker_signed_by_another_ca(
    tmp_path: Path, mosquitto_binary: str
) -> None:
    pki = Pki(tmp_path / "pki")
    broker = TlsBroker(tmp_path / "broker", pki, binary=mosquitto_binary)
    broker.start()
    other = Pki(tmp_path / "other", "Another CA")
    url = f"sqlite:///{tmp_path}/ops.db"
    collector = Collector(
        CollectorConfig(broker_url=broker.url, ca_file=other.ca_file), Store(open_database(url))
    )
    try:
        collector.start()
        assert not collector.wait_subscribed(2)
    finally:
        collector.stop()
        collector.store.db.close()
        broker.kill()
