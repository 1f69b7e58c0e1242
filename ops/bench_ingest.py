"""``checkpoint-ops bench ingest``: the collector draining a queued backlog, beside a bare insert.

Signed batches of 1, 10 and 100 events are queued for the collector's
persistent session on a private Mosquitto while it is away; then the collector
starts and the time until every event is stored counts. In the same run the
same rows go into the same table by one ``COPY`` (PostgreSQL) or one
``executemany`` in one transaction (SQLite): what the database alone costs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ops import bench_live
from ops.bench_live import cpu_seconds
from ops.collector import Collector, CollectorConfig
from ops.db import Database, DatabaseError, PostgresDatabase, open_database
from ops.schema import EVENT_COLUMNS
from ops.sizes import per_event
from ops.store import Store
from scanner.cli.kit import CommandError, command, echo, parser, print_json
from scanner.demo.broker import Broker
from scanner.trust.identity import device_id_for
from scanner.uplink import signing

ROOT = "checkpoint/v1"
TARGETS = {"postgresql": 5000, "sqlite": 8000}  # one-event messages/s (issue 10)
_CLIENT = "checkpoint-ops-bench"


def _event(device_id: str, seq: int, now: float) -> dict[str, Any]:
    return {
        "seq": seq, "kind": "scan", "device_id": device_id, "checkpoint_id": "BENCH-1",
        "wall_time": now, "trusted_time": int(now), "clock": "synced", "outcome": "accept",
        "reason": None, "trust": "fresh", "pass_id": f"PX{secrets.randbelow(10**10):010d}",
        "issuer_kid": "9f86d081884c7d65", "bundle_version": 12, "revocation_serial": 3456,
        "decode_ms": 4.2,
    }  # fmt: skip


def _messages(
    keys: list[SigningKey], store: str, messages: int, per_message: int
) -> list[tuple[str, bytes, list[tuple[str, str]], list[dict[str, Any]]]]:
    """Signed scan batches, round robin over the devices, in sequence per device."""
    out = []
    next_seq = dict.fromkeys(range(len(keys)), 1)
    now = time.time()
    for n in range(messages):
        index = n % len(keys)
        key = keys[index]
        device_id = device_id_for(key.verify_key)
        first = next_seq[index]
        events = [_event(device_id, first + i, now) for i in range(per_message)]
        next_seq[index] = first + per_message
        document = {
            "v": 1, "device_id": device_id, "store": store, "session": 1, "sent_at": now,
            "first_seq": first, "last_seq": first + per_message - 1, "count": per_message,
            "events": events,
        }  # fmt: skip
        topic = f"{ROOT}/devices/{device_id}/scans"
        payload = json.dumps(document, separators=(",", ":")).encode()
        out.append((topic, payload, signing.sign(key, topic, payload), events))
    return out


def _publish(port: int, messages: list[tuple[str, bytes, list[tuple[str, str]], Any]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = []
    for topic, payload, props, _ in messages:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = props
        infos.append(client.publish(topic, payload, qos=1, properties=properties))
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def _make_session(port: int) -> None:
    """Subscribe once with the collector's client ID, so the broker queues for it meanwhile."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=_CLIENT, protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    client.subscribe(f"{ROOT}/devices/+/scans", qos=1)[1]
    time.sleep(0.5)  # the SUBACK; nothing is published before this returns
    client.disconnect()
    client.loop_stop()


def _drain(url: str, db_url: str, events: int, broker_pid: int) -> dict[str, float]:
    """Wall and CPU seconds from the collector's start until ``events`` more are stored.

    CPU time per part (collector, its PostgreSQL backend, Mosquitto) is what
    a capacity plan can use: wall time on a shared 2-core machine is not.
    """
    store = Store(open_database(db_url))
    backend = (
        int(store.db.query("SELECT pg_backend_pid()")[0][0])
        if store.db.kind == "postgresql"
        else None
    )
    collector = Collector(CollectorConfig(broker_url=url, client_id=_CLIENT), store)
    cpu = {"collector": time.process_time(), "broker": cpu_seconds(broker_pid)}
    if backend is not None:
        cpu["postgres"] = cpu_seconds(backend)
    started = time.perf_counter()
    collector.start()
    deadline = time.monotonic() + 600
    while collector.stats["stored"] < events:
        if time.monotonic() > deadline:
            raise CommandError(f"the collector stored {collector.stats['stored']} of {events}")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    used = {
        "collector": time.process_time() - cpu["collector"],
        "broker": cpu_seconds(broker_pid) - cpu["broker"],
    }
    if backend is not None:
        used["postgres"] = cpu_seconds(backend) - cpu["postgres"]
    collector.stop()
    store.db.close()
    return {"wall": elapsed, **used}


def _bare(db: Database, messages: list[tuple[str, bytes, Any, list[dict[str, Any]]]]) -> float:
    """The same rows by one COPY or one executemany, in one transaction; seconds."""
    now = time.time()
    rows = [
        tuple(
            "bare" if c == "store" else now if c == "stored_at" else e.get(c) for c in EVENT_COLUMNS
        )
        for _, _, _, events in messages
        for e in events
    ]
    started = time.perf_counter()
    with db.transaction():
        if isinstance(db, PostgresDatabase):
            db.copy_rows("events", EVENT_COLUMNS, rows)
        else:
            marks = ", ".join("?" * len(EVENT_COLUMNS))
            columns = ", ".join(EVENT_COLUMNS)
            db.executemany(f"INSERT INTO events ({columns}) VALUES ({marks})", rows)  # noqa: S608
    elapsed = time.perf_counter() - started
    db.execute("DELETE FROM events WHERE store = 'bare'")
    return elapsed


def _shared(
    broker: Broker, db_url: str, keys: list[SigningKey], count: int, *, n: int, tmp: Path
) -> float:
    """Messages/s with ``n`` collector processes on one shared subscription, live.

    Each run has a group of its own: Mosquitto keeps queueing a share of the
    group's messages for a member that left with a persistent session.
    """
    store_id = f"shared-{n}"
    processes, logs = [], []
    for i in range(n):
        log_path = tmp / f"{store_id}-{i}.log"
        argv = [sys.executable, "-m", "ops.cli", "collect", "--broker", broker.url, "--db",
                db_url, "--shared", store_id, "--client-id", f"bench-{store_id}-{i}"]  # fmt: skip
        with log_path.open("wb") as out:
            processes.append(subprocess.Popen(argv, stdout=out, stderr=out))  # noqa: S603
        logs.append(log_path)
    db = open_database(db_url)
    try:
        deadline = time.monotonic() + 60
        while not all("collector subscribed" in p.read_text(errors="replace") for p in logs):
            if time.monotonic() > deadline:
                raise CommandError("a collector did not start")
            time.sleep(0.05)
        messages = _messages(keys, store_id, count, 1)
        started = time.perf_counter()
        _publish(broker.port, messages)
        sql = "SELECT COUNT(*) FROM events WHERE store = ?"
        while int(db.query(sql, (store_id,))[0][0]) < count:
            if time.monotonic() > deadline + 600:
                raise CommandError("the shared collectors did not store everything")
            time.sleep(0.05)
        return count / (time.perf_counter() - started)
    finally:
        db.close()
        for process in processes:
            process.send_signal(signal.SIGTERM)  # only the PIDs started here
            process.wait(60)


def run(
    db_url: str,
    sizes: dict[int, int],
    devices: int,
    tmp: Path,
    live: tuple[float, float] = (0.0, 0.0),
) -> dict[str, Any]:
    """Drain backlogs of each size in `sizes` through the collector into `db_url`; the figures."""
    db = open_database(db_url)
    if db.query("SELECT 1 FROM events LIMIT 1"):
        raise CommandError("this database holds events: give the benchmark a fresh one")
    keys = [SigningKey.generate() for _ in range(devices)]
    store = Store(db)
    for key in keys:
        store.enroll(device_id_for(key.verify_key), bytes(key.verify_key), "BENCH-1")
    broker = Broker(tmp / "broker")
    broker.start()
    results: dict[str, Any] = {}
    try:
        for per_message, count in sizes.items():
            messages = _messages(keys, f"bench-{per_message}", count, per_message)
            events = count * per_message
            _make_session(broker.port)
            _publish(broker.port, messages)
            assert broker.process is not None
            spent = _drain(broker.url, db_url, events, broker.process.pid)
            seconds = spent["wall"]
            if per_message == 1:  # before the bare insert's deleted rows bloat the table
                results["stored_size_one_event_messages"] = per_event(db)
            bare = _bare(db, messages)
            stored = int(db.query("SELECT COUNT(*) FROM events WHERE store = ?",
                                  (f"bench-{per_message}",))[0][0])  # fmt: skip
            results[f"{per_message}_event_messages"] = {
                "messages": count,
                "events": events,
                "stored_once": stored == events,
                "collector_messages_per_s": round(count / seconds),
                "collector_events_per_s": round(events / seconds),
                "bare_insert_events_per_s": round(events / bare),
                "collector_to_bare_ratio": round((events / seconds) / (events / bare), 3),
                "cpu_us_per_message": {
                    part: round(spent[part] / count * 1e6) for part in spent if part != "wall"
                },
            }
        if db.kind == "postgresql":
            one, two = (_shared(broker, db_url, keys, sizes[1], n=n, tmp=tmp) for n in (1, 2))
            results["shared_subscription_live"] = {
                "one_collector_messages_per_s": round(one),
                "two_collectors_messages_per_s": round(two),
                "two_to_one_ratio": round(two / one, 2),
            }
        live_rate, live_seconds = live
        if live_rate > 0:
            count = max(1, round(live_rate * live_seconds))
            offered = _messages(keys, bench_live.STORE, count, 1)
            results["live_paced"] = bench_live.paced(broker, db_url, offered, live_rate, tmp)
    finally:
        broker.kill()
    achieved = results["1_event_messages"]["collector_messages_per_s"]
    report = {
        "backend": db.kind,
        "devices": devices,
        "cores": os.cpu_count(),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "target_one_event_messages_per_s": TARGETS[db.kind],
        "target_met": achieved >= TARGETS[db.kind],
        **results,
    }
    db.close()
    return report


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops bench ingest` (or `bench trace`)."""
    if argv[:1] == ["trace"]:
        from ops import bench  # noqa: PLC0415 - the tracing benchmark lives there

        status: int = bench.main(argv[1:])
        return status
    p = parser("checkpoint-ops bench ingest", "Time the collector draining a backlog.")
    p.add_argument("what", choices=("ingest",), help="ingest (or: bench trace, as bench-trace)")
    p.add_argument("--db", required=True, help="a fresh, throwaway database")
    p.add_argument("--messages", type=int, default=20000, help="one-event messages")
    p.add_argument("--devices", type=int, default=200)
    p.add_argument(
        "--live-rate",
        type=float,
        default=3000.0,
        help="then offer one-event messages live at this rate and report "
        "scan-to-stored latency (0: skip); default: %(default)s",
    )
    p.add_argument(
        "--live-seconds",
        type=float,
        default=20.0,
        help="how long the live phase offers messages; default: %(default)s",
    )
    p.add_argument("--json", action="store_true", help="only the JSON report")
    args = p.parse_args(argv)
    sizes = {1: args.messages, 10: max(1, args.messages // 10), 100: max(1, args.messages // 100)}
    try:
        with tempfile.TemporaryDirectory(prefix="ops-bench-") as tmp:
            live = (args.live_rate, args.live_seconds)
            report = run(args.db, sizes, args.devices, Path(tmp), live)
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    if not args.json:
        for key, value in report.items():
            echo(f"{key}: {value}")
    print_json(report)
    one = report["1_event_messages"]
    return 0 if one["stored_once"] else 1
