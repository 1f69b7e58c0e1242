"""Fixtures for the ops tests: a real PostgreSQL (never skipped), databases, simulated devices."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ops.collector import Collector, CollectorConfig
from ops.db import Database, Row, open_database
from ops.device import SimulatedDevice
from ops.store import Store
from scanner.uplink import signing
from support.broker import Broker

ENSURE_POSTGRES = Path(__file__).parents[1] / "services" / "ensure-postgres.sh"
# Tried in order: an explicit DSN, a trust-auth server (this dev machine), the
# role tests/services/ensure-postgres.sh makes on a fresh machine.
_ADMIN_DSNS = (
    os.environ.get("OPS_TEST_POSTGRES", ""),
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://ops_test:ops-test@127.0.0.1:5432/postgres",
)


def _admin_dsn() -> str | None:
    for dsn in _ADMIN_DSNS:
        if not dsn:
            continue
        try:
            with psycopg.connect(dsn, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            continue
        return dsn
    return None


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    """A DSN allowed to CREATE DATABASE; installs and starts a server if there is none."""
    dsn = _admin_dsn()
    if dsn is None:
        result = subprocess.run(
            ["bash", str(ENSURE_POSTGRES)], check=False, capture_output=True, text=True, timeout=900
        )
        dsn = _admin_dsn()
        if dsn is None:
            pytest.fail(
                "the ops tests need PostgreSQL on 127.0.0.1:5432 and could not get one: "
                f"{ENSURE_POSTGRES} said: {result.stdout[-500:]} {result.stderr[-1000:]}"
            )
    return dsn


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    """A throwaway database, dropped at the end."""
    name = f"ops_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage test runs on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ops.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def databases() -> Iterator[Callable[[str], Database]]:
    """Open ops databases by URL (for Views, Stores...); every one is closed at the end."""
    opened: list[Database] = []

    def open_one(url: str) -> Database:
        db = open_database(url)
        opened.append(db)
        return db

    yield open_one
    for db in opened:
        db.close()


def query(url: str, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
    """The rows of one query, on a connection of its own."""
    db = open_database(url)
    try:
        return db.query(sql, params)
    finally:
        db.close()


def count(url: str, sql: str, params: tuple[object, ...] = ()) -> int:
    """The single number a COUNT(...) query returns."""
    return int(query(url, sql, params)[0][0])


def scan_counts(url: str) -> tuple[int, int]:
    """(rows, distinct sequence numbers) of the scan events stored."""
    total, distinct = query(
        url, "SELECT COUNT(*), COUNT(DISTINCT seq) FROM events WHERE kind = 'scan'"
    )[0]
    return int(total), int(distinct)


CollectorRun = Callable[[], Collector]


@pytest.fixture
def run_collector(broker: Broker, db_url: str) -> Iterator[CollectorRun]:
    """Start collectors on the test's broker and database, each subscribed; stopped at the end."""
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


@pytest.fixture
def collector(run_collector: CollectorRun) -> Collector:
    """One collector on the test's broker and database, subscribed."""
    return run_collector()


DeviceFactory = Callable[..., SimulatedDevice]


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator[DeviceFactory]:
    """Simulated units with the real Outbox and Uplink; closed at the end."""
    made: list[SimulatedDevice] = []

    def make(broker_url: str, index: int = 0, checkpoint: str = "A7-north") -> SimulatedDevice:
        seed = index.to_bytes(4, "big") * 8
        device = SimulatedDevice(
            seed, checkpoint, tmp_path / f"device-{index}", broker_url, heartbeat_interval_s=0.5
        )
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()


def enroll(url: str, *devices: SimulatedDevice) -> None:
    db = open_database(url)
    store = Store(db)
    for device in devices:
        store.enroll(device.device_id, device.public_key, device.checkpoint_id, "Lane 1")
    db.close()


class Publisher:
    """A bare MQTT v5 client that publishes what a test crafts (signed or not) at QoS 1."""

    def __init__(self, port: int) -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"pub-{secrets.token_hex(3)}", protocol=5
        )
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def publish(
        self,
        topic: str,
        payload: bytes,
        key: SigningKey | None = None,
        *,
        retain: bool = False,
    ) -> None:
        props = Properties(PacketTypes.PUBLISH)
        if key is not None:
            props.UserProperty = signing.sign(key, topic, payload)
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=props)
        info.wait_for_publish(10)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def publisher(broker: Broker) -> Iterator[Publisher]:
    """A bare client on the test's broker that publishes what a test crafts; closed at the end."""
    client = Publisher(broker.port)
    yield client
    client.close()


def batch(device: SimulatedDevice, events: list[dict[str, object]], store: str = "s1") -> bytes:
    """A scan batch as the uplink writes it, from hand-made events."""
    last = events[-1]
    document = {
        "v": 1,
        "device_id": device.device_id,
        "store": store,
        "session": 1,
        "sent_at": time.time(),
        "first_seq": events[0]["seq"],
        "last_seq": last.get("through", last["seq"]),
        "count": len(events),
        "events": events,
    }
    return json.dumps(document).encode()


def scan_event(device: SimulatedDevice, seq: int, pass_id: str = "PX1") -> dict[str, object]:
    return {
        "seq": seq,
        "kind": "scan",
        "device_id": device.device_id,
        "checkpoint_id": device.checkpoint_id,
        "wall_time": time.time(),
        "trusted_time": int(time.time()),
        "clock": "synced",
        "outcome": "accept",
        "reason": None,
        "trust": "fresh",
        "pass_id": pass_id,
        "issuer_kid": "9f86d081884c7d65",
        "bundle_version": 12,
        "revocation_serial": 3456,
        "decode_ms": 4.2,
    }
