"""Poison messages, late enrollment and restored units: quarantined or flagged, never lost."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.broker import Broker
from support.ops import (
    DeviceFactory,
    Publisher,
    batch,
    enroll,
    query,
    scan_event,
)
from support.waiting import wait_until

from ops import cli
from ops.collector import Collector, CollectorConfig
from ops.db import Database, open_database
from ops.store import Store
from ops.views import Views


def scans_stored(url: str) -> set[int]:
    return {int(str(r[0])) for r in query(url, "SELECT seq FROM events WHERE kind = 'scan'")}


def test_poison_messages_amid_a_signed_stream_are_quarantined_and_every_event_stored(
    broker: Broker,
    db_url: str,
    make_device: DeviceFactory,
    collector: Collector,
    publisher: Publisher,
    databases: Callable[[str], Database],
) -> None:
    device = make_device(broker.url)
    enroll(db_url, device)
    root = f"checkpoint/v1/devices/{device.device_id}"
    poison = [
        # The two that stopped storage for the whole fleet before quarantine.
        f'{{"v":1,"device_id":"{device.device_id}","state":"online","session":1,'
        f'"online_since":{"9" * 400}}}'.encode(),
        json.dumps(
            {"v": 1, "device_id": device.device_id, "state": "online", "session": 2},
        )
        .replace("}", ',"software":"v1\\u0000"}')
        .encode(),
        b"[" * 100_000 + b"]" * 100_000,  # deep JSON
        b"\x00\xff\xfe not json",
    ]
    for seq in range(1, 31):
        publisher.publish(f"{root}/scans", batch(device, [scan_event(device, seq)]), device.key)
        if seq % 7 == 0:
            publisher.publish(f"{root}/status", poison[seq // 7 - 1])
    assert wait_until(lambda: scans_stored(db_url) == set(range(1, 31)))
    reasons = [str(r[0]) for r in query(db_url, "SELECT reason FROM quarantine ORDER BY id")]
    assert reasons == ["bad_status"] * 4
    payloads = [bytes(r[0]) for r in query(db_url, "SELECT payload FROM quarantine ORDER BY id")]  # type: ignore[call-overload]
    assert payloads == poison  # verbatim
    assert collector.stats["quarantined"] == 4
    views = Views(databases(db_url))
    assert views.counters()["quarantined"] == 4
    assert views.counters()["gaps"] == 0


def test_a_unit_enrolled_late_loses_nothing_its_batches_wait_in_quarantine(
    broker: Broker,
    db_url: str,
    make_device: DeviceFactory,
    collector: Collector,
    capsys: pytest.CaptureFixture[str],
) -> None:
    device = make_device(broker.url)  # not enrolled in the ops database yet
    device.connect()
    for _ in range(5):
        device.scan(time.time())
    assert wait_until(lambda: device.outbox.depth() == 0)  # acknowledged: gone from the unit
    assert wait_until(
        lambda: len(query(db_url, "SELECT id FROM quarantine WHERE reason = 'unknown_device'")) >= 1
    )
    assert scans_stored(db_url) == set()
    assert cli.main(["quarantine", "list", "--db", db_url, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {entry["device_id"] for entry in listed} == {device.device_id}

    key = base64.b64encode(device.public_key).decode()
    enrolled = ["enroll", "--db", db_url, "--device-id", device.device_id]
    assert cli.main([*enrolled, "--public-key", key, "--checkpoint", device.checkpoint_id]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["replayed_from_quarantine"] == len(listed)
    assert scans_stored(db_url) == {1, 2, 3, 4, 5}
    assert cli.main(["quarantine", "list", "--db", db_url, "--json"]) == 0
    assert capsys.readouterr().out == ""
    device.scan(time.time())  # and the live path now stores it directly
    assert wait_until(lambda: scans_stored(db_url) == {1, 2, 3, 4, 5, 6})


def test_a_restored_unit_reusing_sequence_numbers_raises_a_conflict_not_a_duplicate(
    broker: Broker,
    db_url: str,
    make_device: DeviceFactory,
    collector: Collector,
    publisher: Publisher,
    databases: Callable[[str], Database],
) -> None:
    device = make_device(broker.url)
    enroll(db_url, device)
    topic = f"checkpoint/v1/devices/{device.device_id}/scans"
    first = batch(device, [scan_event(device, s, pass_id=f"PX{s}") for s in (1, 2, 3)])
    publisher.publish(topic, first, device.key)
    assert wait_until(lambda: scans_stored(db_url) == {1, 2, 3})
    publisher.publish(topic, first, device.key)  # the same again: a plain duplicate
    restored = [scan_event(device, s, pass_id=f"PY{s}") for s in (2, 3, 4)]
    publisher.publish(topic, batch(device, restored), device.key)
    publisher.publish(topic, batch(device, restored), device.key)  # a conflict kept once
    assert wait_until(lambda: scans_stored(db_url) == {1, 2, 3, 4})
    assert wait_until(lambda: collector.stats["conflicts"] == 4)
    rows = query(db_url, "SELECT seq, stored, received FROM conflicts ORDER BY seq")
    assert [int(str(r[0])) for r in rows] == [2, 3]
    assert [json.loads(str(r[1]))["pass_id"] for r in rows] == ["PX2", "PX3"]
    assert [json.loads(str(r[2]))["pass_id"] for r in rows] == ["PY2", "PY3"]
    views = Views(databases(db_url))
    alerts = [a for a in views.alerts() if a["code"] == "seq_conflict"]
    assert sorted(a["seq"] for a in alerts) == [2, 3]
    assert views.counters()["duplicates"] == 4  # three of `first`, then event 4 again
    stored = query(db_url, "SELECT pass_id FROM events WHERE seq IN (2, 3) ORDER BY seq")
    assert [r[0] for r in stored] == ["PX2", "PX3"]  # the first record is never overwritten


def test_a_collector_stopped_while_the_database_is_locked_acknowledges_nothing(
    broker: Broker,
    tmp_path: Path,
    make_device: DeviceFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"sqlite:///{tmp_path}/ops.db"
    device = make_device(broker.url)
    enroll(url, device)
    config = CollectorConfig(broker_url=broker.url, client_id="locked-out")
    first = Collector(config, Store(open_database(url)))
    first.start()
    assert first.wait_subscribed(10)
    blocker = sqlite3.connect(tmp_path / "ops.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    publisher = Publisher(broker.port)
    topic = f"checkpoint/v1/devices/{device.device_id}/scans"
    publisher.publish(topic, batch(device, [scan_event(device, 1)]), device.key)
    # SQLite's busy timeout (10 s) runs out, the writer backs off and retries.
    assert wait_until(lambda: "retrying" in caplog.text)
    first.stop()  # mid-retry: must leave the message to the broker
    first.store.db.close()
    blocker.execute("ROLLBACK")
    blocker.close()
    assert scans_stored(url) == set()
    second = Collector(config, Store(open_database(url)))  # same session
    second.start()
    try:
        assert wait_until(lambda: scans_stored(url) == {1})
    finally:
        second.stop()
        second.store.db.close()
        publisher.close()
