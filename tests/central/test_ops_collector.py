"""The collector on a real Mosquitto, on SQLite and on PostgreSQL: exactly once, gaps, status."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from support.broker import Broker
from support.ops import (
    CollectorRun,
    DeviceFactory,
    Publisher,
    batch,
    count,
    enroll,
    scan_event,
)
from support.waiting import wait_until

from ops.db import Database
from ops.device import SimulatedDevice
from ops.views import Views


@pytest.fixture
def device(
    broker: Broker, db_url: str, make_device: DeviceFactory, run_collector: CollectorRun
) -> SimulatedDevice:
    """One enrolled unit, and a collector already listening for it."""
    unit = make_device(broker.url)
    enroll(db_url, unit)
    run_collector()
    return unit


def test_scans_from_the_real_uplink_are_stored_once_each(
    broker: Broker,
    db_url: str,
    make_device: DeviceFactory,
    run_collector: CollectorRun,
    databases: Callable[[str], Database],
) -> None:
    device = make_device(broker.url)
    enroll(db_url, device)
    collector = run_collector()
    device.connect()
    for _ in range(60):
        device.scan(time.time())
    assert wait_until(lambda: count(db_url, "SELECT COUNT(*) FROM events") == 60)
    views = Views(databases(db_url))
    assert wait_until(lambda: views.fleet()[0]["state"] == "online")
    row = views.fleet()[0]
    assert row["accepted_1h"] + row["rejected_1h"] == 60
    assert row["trust_version"] == 12
    assert views.counters()["gaps"] == 0
    assert collector.stats["refused"] == 0


def test_a_batch_sent_again_is_counted_as_duplicate_not_stored(
    db_url: str,
    device: SimulatedDevice,
    publisher: Publisher,
    databases: Callable[[str], Database],
) -> None:
    topic = f"checkpoint/v1/devices/{device.device_id}/scans"
    payload = batch(device, [scan_event(device, 1), scan_event(device, 2)])
    publisher.publish(topic, payload, device.key)
    publisher.publish(topic, payload, device.key)
    views = Views(databases(db_url))
    assert wait_until(lambda: views.counters().get("duplicates") == 2)
    assert count(db_url, "SELECT COUNT(*) FROM events") == 2
    assert views.counters()["stored"] == 2


def test_gaps_are_found_and_closed_and_shed_ranges_are_not_gaps(
    db_url: str,
    device: SimulatedDevice,
    publisher: Publisher,
    databases: Callable[[str], Database],
) -> None:
    topic = f"checkpoint/v1/devices/{device.device_id}/scans"
    views = Views(databases(db_url))
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


def test_an_older_sessions_last_will_does_not_mark_the_device_offline(
    db_url: str,
    device: SimulatedDevice,
    publisher: Publisher,
    databases: Callable[[str], Database],
) -> None:
    topic = f"checkpoint/v1/devices/{device.device_id}/status"

    def status(state: str, session: int) -> bytes:
        return (
            f'{{"v":1,"device_id":"{device.device_id}","state":"{state}","session":{session},'
            f'"online_since":1.0,"ts":null,"reason":null,"software":"0.1.0"}}'
        ).encode()

    views = Views(databases(db_url), stale_after_s=3600)
    publisher.publish(topic, status("online", 5))
    assert wait_until(lambda: views.fleet()[0]["session"] == 5)
    publisher.publish(topic, status("offline", 4))  # a late will of session 4
    publisher.publish(topic, status("online", 4))
    # A malformed status on the same topic after them: once its refusal is stored,
    # the collector has handled the two before it (one topic is delivered in order).
    publisher.publish(topic, b"{")
    assert wait_until(lambda: any(r["reason"] == "bad_status" for r in views.refusals()))
    assert views.fleet()[0]["session"] == 5
    assert views.fleet()[0]["state"] == "stale"  # online, but never a heartbeat
    publisher.publish(topic, status("offline", 5))
    assert wait_until(lambda: views.fleet()[0]["state"] == "offline")


def test_a_device_that_stops_is_shown_offline_and_stale_without_heartbeats(
    db_url: str,
    device: SimulatedDevice,
    databases: Callable[[str], Database],
) -> None:
    device.connect()
    views = Views(databases(db_url), stale_after_s=1.5)
    assert wait_until(lambda: views.fleet()[0]["state"] == "online")
    device.disconnect()
    assert wait_until(lambda: views.fleet()[0]["state"] == "offline")
    assert views.fleet()[0]["reason"] == "shutdown"
    # A unit whose network vanishes sends no will at once: only its heartbeats stop.
    device.connect()
    assert wait_until(lambda: views.fleet()[0]["state"] == "online")
    assert views.fleet(now=time.time() + 60)[0]["state"] == "stale"
