"""The collector on a real Mosquitto, on SQLite and on PostgreSQL: exactly once, gaps, status."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from support.broker import Broker
from support.ops import (  # noqa: F401 - fixtures
    DeviceFactory,
    Publisher,
    batch,
    db_url,
    enroll,
    make_device,
    postgres_admin,
    postgres_url,
    scan_event,
)
from support.waiting import wait_until

from ops.collector import Collector, CollectorConfig
from ops.db import open_database
from ops.store import Store
from ops.views import Views

Run = Callable[[], Collector]


@pytest.fixture
def run_collector(broker: Broker, db_url: str) -> Iterator[Run]:  # noqa: F811
    running: list[Collector] = []

    def start() -> Collector:
        collector = Collector(CollectorConfig(broker_url=broker.url), Store(open_database(db_url)))
        collector.start()
        assert collector.wait_subscribed(10)
        running.append(collector)
        return collector

    yield start
    for collector in running:
        collector.stop()
        collector.store.db.close()


def count(url: str, sql: str, params: tuple[object, ...] = ()) -> int:
    db = open_database(url)
    try:
        return int(db.query(sql, params)[0][0])
    finally:
        db.close()


def test_scans_from_the_real_uplink_are_stored_once_each(
    broker: Broker,
    db_url: str,  # noqa: F811
    make_device: DeviceFactory,  # noqa: F811
    run_collector: Run,
) -> None:
    device = make_device(broker.url)
    enroll(db_url, device)
    collector = run_collector()
    device.connect()
    for _ in range(60):
        device.scan(time.time())
    assert wait_until(lambda: count(db_url, "SELECT COUNT(*) FROM events") == 60)
    views = Views(open_database(db_url))
    assert wait_until(lambda: views.fleet()[0]["state"] == "online")
    row = views.fleet()[0]
    assert row["accepted_1h"] + row["rejected_1h"] == 60
    assert row["trust_version"] == 12
    assert views.counters()["gaps"] == 0
    assert collector.stats["refused"] == 0


def test_a_batch_sent_again_is_counted_as_duplicate_not_stored(
    broker: Broker,
    db_url: str,  # noqa: F811
    make_device: DeviceFactory,  # noqa: F811
    run_collector: Run,
) -> None:
    device = make_device(broker.url)
    enroll(db_url, device)
    run_collector()
    publisher = Publisher(broker.port)
    topic = f"checkpoint/v1/devices/{device.device_id}/scans"
    payload = batch(device, [scan_event(device, 1), scan_event(device, 2)])
    publisher.publish(topic, payload, device.key)
    publisher.publish(topic, payload, device.key)
    views = Views(open_database(db_url))
    assert wait_until(lambda: views.counters().get("duplicates") == 2)
    assert count(db_url, "SELECT COUNT(*) FROM events") == 2
    assert views.counters()["stored"] == 2
    publisher.close()


def test_gaps_are_found_and_closed_and_shed_ranges_are_not_gaps(
    broker: Broker,
    db_url: str,  # noqa: F811
    make_device: DeviceFactory,  # noqa: F811
    run_collector: Run,
) -> None:
    device = make_device(broker.url)
    enroll(db_url, device)
    run_collector()
    publisher = Publisher(broker.port)
    topic = f"checkpoint/v1/devices/{device.device_id}/scans"
    views = Views(open_database(db_url))
    publisher.publish(topic, batch(device, [scan_event(device, s) for s in (1, 2, 3)]), device.key)
    publisher.publish(topic, batch(device, [scan_event(device, s) for s in (6, 7)]), device.key)
    assert wait_until(lambda: views.counters()["gaps"] == 2)
    assert views.gaps()[0]["contiguous"] == 3
    assert views.gaps()[0]["highest"] == 7
    publisher.publish(topic, batch(device, [scan_event(device, s) for s in (4, 5)]), device.key)
    assert wait_until(lambda: views.counters()["gaps"] == 0)
    shed = [{"seq": 8, "kind": "shed", "through": 20}, scan_event(device, 21)]
    publisher.publish(topic, batch(device, shed), device.key)
    assert wait_until(lambda: count(db_url, "SELECT COUNT(*) FROM events") == 9)
    assert views.counters()["gaps"] == 0
    assert views.gaps() == []
    publisher.close()


def test_an_older_sessions_last_will_does_not_mark_the_device_offline(
    broker: Broker,
    db_url: str,  # noqa: F811
    make_device: DeviceFactory,  # noqa: F811
    run_collector: Run,
) -> None:
    device = make_device(broker.url)
    enroll(db_url, device)
    run_collector()
    publisher = Publisher(broker.port)
    topic = f"checkpoint/v1/devices/{device.device_id}/status"

    def status(state: str, session: int) -> bytes:
        return (
            f'{{"v":1,"device_id":"{device.device_id}","state":"{state}","session":{session},'
            f'"online_since":1.0,"ts":null,"reason":null,"software":"0.1.0"}}'
        ).encode()

    views = Views(open_database(db_url), stale_after_s=3600)
    publisher.publish(topic, status("online", 5))
    assert wait_until(lambda: views.fleet()[0]["session"] == 5)
    publisher.publish(topic, status("offline", 4))  # a late will of session 4
    publisher.publish(topic, status("online", 4))
    time.sleep(0.5)
    assert views.fleet()[0]["session"] == 5
    assert views.fleet()[0]["state"] == "stale"  # online, but never a heartbeat
    publisher.publish(topic, status("offline", 5))
    assert wait_until(lambda: views.fleet()[0]["state"] == "offline")
    publisher.close()


def test_a_device_that_stops_is_shown_offline_and_stale_without_heartbeats(
    broker: Broker,
    db_url: str,  # noqa: F811
    make_device: DeviceFactory,  # noqa: F811
    run_collector: Run,
) -> None:
    device = make_device(broker.url)
    enroll(db_url, device)
    run_collector()
    device.connect()
    views = Views(open_database(db_url), stale_after_s=1.5)
    assert wait_until(lambda: views.fleet()[0]["state"] == "online")
    device.disconnect()
    assert wait_until(lambda: views.fleet()[0]["state"] == "offline")
    assert views.fleet()[0]["reason"] == "shutdown"
    # A unit whose network vanishes sends no will at once: only its heartbeats stop.
    device.connect()
    assert wait_until(lambda: views.fleet()[0]["state"] == "online")
    assert views.fleet(now=time.time() + 60)[0]["state"] == "stale"
