"""Past one collector and one broker: a shared subscription with a SIGKILL, and a bridge restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from support.broker import Broker
from support.ops import DeviceFactory, enroll
from support.waiting import wait_for_more, wait_until

from ops.db import open_database
from ops.device import SimulatedDevice


def _collector(broker_url: str, db: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    seen = log.read_text(errors="replace").count("collector subscribed") if log.exists() else 0
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ops.cli",
                "collect",
                "--broker",
                broker_url,
                "--db",
                db,
                *extra,
            ],
            stdout=out,
            stderr=out,
        )
    assert wait_until(
        lambda: log.read_text(errors="replace").count("collector subscribed") > seen
    ), log.read_text()[-2000:]
    return process


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


class _Scanning:
    """Devices scanning on one thread until stopped; counts what they produced."""

    def __init__(self, devices: list[SimulatedDevice]) -> None:
        self.devices = devices
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

        self.scans = 0  # so far; read from the test's thread while this one counts

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            for device in self.devices:
                device.scan(time.time())
                self.scans += 1

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return sum(device.outbox.last_seq() for device in self.devices)


def _stored(url: str) -> int:
    db = open_database(url)
    try:
        return int(db.query("SELECT COUNT(*) FROM events WHERE kind = 'scan'")[0][0])
    finally:
        db.close()


def _stored_by(url: str, *collectors: str) -> list[int]:
    """How many events each named collector has stored so far."""
    db = open_database(url)
    try:
        rows = db.query("SELECT collector, n FROM collector_counters WHERE name = 'stored'")
    finally:
        db.close()
    counts = {str(name): int(n) for name, n in rows}
    return [counts.get(name, 0) for name in collectors]


def _exactly_once(url: str, produced: int) -> None:
    assert wait_until(lambda: _stored(url) >= produced, timeout=90), (_stored(url), produced)
    db = open_database(url)
    try:
        per_device = db.query(
            "SELECT device_id, COUNT(*), COUNT(DISTINCT seq), MAX(seq) FROM events"
            " WHERE kind = 'scan' GROUP BY device_id"
        )
        assert sum(int(row[1]) for row in per_device) == produced
        for _, total, distinct, highest in per_device:
            assert int(total) == int(distinct) == int(highest)
        assert int(db.query("SELECT COUNT(*) FROM conflicts")[0][0]) == 0
        assert int(db.query("SELECT COUNT(*) FROM quarantine")[0][0]) == 0
        assert int(db.query("SELECT COALESCE(SUM(missing), 0) FROM streams")[0][0]) == 0
    finally:
        db.close()


def test_two_collectors_sharing_the_log_store_every_event_once_across_a_sigkill(
    tmp_path: Path,
    mosquitto_binary: str,
    postgres_url: str,
    make_device: DeviceFactory,
) -> None:
    broker = Broker(tmp_path / "broker", persistence=True, binary=mosquitto_binary)
    broker.start()
    devices = [make_device(broker.url, i) for i in range(6)]
    enroll(postgres_url, *devices)
    logs = [tmp_path / "c1.log", tmp_path / "c2.log"]
    shared = ("--shared", "ops")
    one = _collector(broker.url, postgres_url, logs[0], *shared, "--client-id", "c1")
    two = _collector(broker.url, postgres_url, logs[1], *shared, "--client-id", "c2")
    try:
        for device in devices:
            device.connect()
        scanning = _Scanning(devices)
        # Each phase lasts until work happened in it, not a fixed time.
        assert wait_until(lambda: min(_stored_by(postgres_url, "c1", "c2")) > 0)
        os.kill(one.pid, signal.SIGKILL)  # no goodbye: what it held is still the broker's
        one.wait(10)
        assert wait_for_more(lambda: scanning.scans, 200)  # scanned while c1 is gone
        before = _stored_by(postgres_url, "c1")[0]
        one = _collector(broker.url, postgres_url, logs[0], *shared, "--client-id", "c1")
        assert wait_until(lambda: _stored_by(postgres_url, "c1")[0] > before)  # back at work
        produced = scanning.stop()
        _exactly_once(postgres_url, produced)
        db = open_database(postgres_url)
        split = dict(db.query("SELECT collector, n FROM collector_counters WHERE name = 'stored'"))
        db.close()
        assert split.get("c1", 0) > 0  # both did part of the work
        assert split.get("c2", 0) > 0
    finally:
        for device in devices:
            device.disconnect()
        _terminate(one)
        _terminate(two)
        broker.kill()


class BridgedBroker(Broker):
    """A regional Mosquitto whose QoS 1 bridge forwards the devices' topics to a central one."""

    def __init__(self, workdir: Path, central_port: int, binary: str) -> None:
        super().__init__(workdir, persistence=True, binary=binary)
        self.central_port = central_port

    def _write_config(self) -> None:
        super()._write_config()
        # Seen on Mosquitto 2.0.11: with max_inflight_messages 0 (unlimited) the
        # bridge connects and then forwards nothing.
        lines = self.config_path.read_text().splitlines()
        kept = [line for line in lines if not line.startswith("max_inflight_messages")]
        self.config_path.write_text("\n".join(kept) + "\n")
        with self.config_path.open("a") as config:
            config.write(
                "\n".join(
                    [
                        "connection central",
                        f"address 127.0.0.1:{self.central_port}",
                        # MQTT v5 carries the signatures (user properties) across.
                        "bridge_protocol_version mqttv50",
                        "topic checkpoint/v1/devices/# out 1",
                        "cleansession false",
                        "local_clientid bridge-local",
                        "remote_clientid bridge-region-1",
                        "restart_timeout 1",
                        "try_private false",
                        "",
                    ]
                )
            )


def test_a_bridged_regional_broker_restarted_mid_run_loses_and_doubles_nothing(
    tmp_path: Path,
    mosquitto_binary: str,
    db_url: str,
    make_device: DeviceFactory,
) -> None:
    central = Broker(tmp_path / "central", persistence=True, binary=mosquitto_binary)
    central.start()
    regional = BridgedBroker(tmp_path / "regional", central.port, mosquitto_binary)
    regional.start()
    devices = [make_device(regional.url, i) for i in range(4)]  # units talk to the region
    enroll(db_url, *devices)
    log = tmp_path / "collector.log"
    collector = _collector(central.url, db_url, log)  # the collector to the centre
    try:
        for device in devices:
            device.connect()
        scanning = _Scanning(devices)
        # Each phase lasts until work happened in it, not a fixed time.
        assert wait_until(lambda: _stored(db_url) > 0)  # through the bridge before it goes
        regional.restart()  # the bridge side goes away with whatever it was forwarding
        assert wait_for_more(lambda: _stored(db_url), 100)  # and through the new bridge
        produced = scanning.stop()
        _exactly_once(db_url, produced)
    finally:
        for device in devices:
            device.disconnect()
        _terminate(collector)
        regional.kill()
        central.kill()
