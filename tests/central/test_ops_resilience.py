"""Bad input is refused and counted while the collector keeps going; restarts lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nacl.signing import SigningKey
from support.broker import Broker
from support.ops import (
    DeviceFactory,
    Publisher,
    batch,
    enroll,
    scan_counts,
    scan_event,
)
from support.waiting import wait_for_more, wait_until

from ops.collector import Collector
from ops.db import Database, open_database
from ops.views import Views


def test_bad_input_is_refused_counted_and_nothing_stored_is_lost(
    broker: Broker,
    db_url: str,
    make_device: DeviceFactory,
    collector: Collector,
    publisher: Publisher,
    databases: Callable[[str], Database],
) -> None:
    device, other = make_device(broker.url, 1), make_device(broker.url, 2)
    enroll(db_url, device, other)
    stranger = make_device(broker.url, 3)  # never enrolled
    scans = f"checkpoint/v1/devices/{device.device_id}/scans"
    publisher.publish(scans, batch(device, [scan_event(device, s) for s in (1, 2, 3)]), device.key)
    views = Views(databases(db_url))
    assert wait_until(lambda: scan_counts(db_url) == (3, 3))

    publisher.publish(scans, b'{"v":1,"device_id":', device.key)  # bad JSON, genuinely signed
    good_batch = batch(device, [scan_event(device, 4)])
    publisher.publish(scans, good_batch, SigningKey.generate())  # wrong signature
    publisher.publish(scans, good_batch)  # no signature at all
    other_scans = f"checkpoint/v1/devices/{other.device_id}/scans"
    publisher.publish(other_scans, good_batch, device.key)  # replayed under another device
    future = batch(device, [scan_event(device, 10**12)])
    publisher.publish(scans, future, device.key)  # a sequence number from the future
    stranger_status = json.dumps(
        {"v": 1, "device_id": stranger.device_id, "state": "online", "session": 1}
    ).encode()
    publisher.publish(f"checkpoint/v1/devices/{stranger.device_id}/status", stranger_status)
    publisher.publish(scans, b"x" * (10 * 1024 * 1024), device.key)  # 10 MB
    sql_pass = [scan_event(device, 4, pass_id="'); DROP TABLE events; --")]
    publisher.publish(scans, batch(device, sql_pass), device.key)  # just a string

    assert wait_until(lambda: scan_counts(db_url) == (4, 4))
    reasons = {(r["reason"], r["device_id"]) for r in views.refusals()}
    assert reasons >= {
        ("bad_scans", device.device_id),
        ("bad_signature", device.device_id),
        ("bad_signature", other.device_id),
        ("seq_from_future", device.device_id),
        ("unknown_device", stranger.device_id),
        ("too_large", device.device_id),
    }
    assert views.counters()["refused"] == 7
    assert views.trace_pass("'); DROP TABLE events; --")[0]["seq"] == 4
    assert views.counters()["gaps"] == 0
    assert collector.stats["refused"] == 7


def _start_collector(broker: Broker, url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "collect", "--broker", broker.url, "--db", url],
            stdout=out,
            stderr=out,
        )


def test_exactly_once_across_a_broker_restart_and_a_killed_collector(
    tmp_path: Path,
    mosquitto_binary: str,
    db_url: str,
    make_device: DeviceFactory,
    databases: Callable[[str], Database],
) -> None:
    broker = Broker(tmp_path / "broker", persistence=True, binary=mosquitto_binary)
    broker.start()
    devices = [make_device(broker.url, i) for i in range(3)]
    enroll(db_url, *devices)
    log = tmp_path / "collector.log"
    process = _start_collector(broker, db_url, log)
    views = Views(databases(db_url))
    try:
        assert wait_until(lambda: "collector subscribed" in log.read_text(errors="replace"))
        for device in devices:
            device.connect()
        stop = threading.Event()
        produced = [0]

        def scanning() -> None:
            while not stop.wait(0.01):
                for device in devices:
                    device.scan(time.time())
                    produced[0] += 1

        def stored_now() -> int:
            return scan_counts(db_url)[0]

        worker = threading.Thread(target=scanning)
        worker.start()
        # Each phase lasts until work happened in it, not a fixed time.
        assert wait_for_more(stored_now, 100)  # flowing before the broker goes
        broker.restart()
        assert wait_for_more(stored_now, 100)  # flowing again through the new broker
        os.kill(process.pid, signal.SIGKILL)  # no goodbye: unacknowledged work is the broker's
        process.wait(10)
        assert wait_for_more(lambda: produced[0], 100)  # a backlog while no collector runs
        process = _start_collector(broker, db_url, log)
        assert wait_for_more(stored_now, 100)  # the new collector stores
        stop.set()
        worker.join()
        assert wait_until(lambda: scan_counts(db_url)[0] >= produced[0], timeout=60)
        db = open_database(db_url)
        per_device = db.query(
            "SELECT device_id, COUNT(*), COUNT(DISTINCT seq), MAX(seq) FROM events"
            " GROUP BY device_id"
        )
        db.close()
        assert sum(int(row[1]) for row in per_device) == produced[0]
        for _, total, distinct, highest in per_device:
            assert int(total) == int(distinct) == int(highest)
        assert views.counters()["gaps"] == 0
    finally:
        for device in devices:
            device.disconnect()
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        broker.kill()
