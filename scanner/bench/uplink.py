"""`checkpoint-scanner bench uplink`: drain a 100,000-event outbox to a broker beside references."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion

from scanner.cli.kit import command, echo
from scanner.cli.kit import parser as kit_parser
from scanner.model import ClockState, Outcome, Reason, TrustState
from scanner.outbox.events import EventKind, OutboxEvent, StoredEvent
from scanner.outbox.queue import Outbox
from scanner.uplink import payloads
from scanner.uplink.config import UplinkConfig
from scanner.uplink.service import Uplink

TARGET_SECONDS = 30.0


def _event(n: int) -> OutboxEvent:
    accepted = n % 5 != 0
    return OutboxEvent(
        kind=EventKind.SCAN,
        device_id="bench-device",
        checkpoint_id="bench-checkpoint",
        wall_time=1_700_000_000.0 + n * 0.5,
        clock=ClockState.SYNCED,
        trusted_time=1_700_000_000 + n // 2,
        outcome=Outcome.ACCEPT if accepted else Outcome.REJECT,
        reason=None if accepted else Reason.EXPIRED,
        trust=TrustState.FRESH,
        pass_id=f"PX{n:010d}",
        issuer_kid="9f86d081884c7d65",
        bundle_version=12,
        revocation_serial=3456,
        decode_ms=4.25,
    )


def _commits_per_s(outbox: Outbox, count: int) -> float:
    started = time.perf_counter()
    seqs = [outbox.record(_event(n)) for n in range(count)]
    elapsed = time.perf_counter() - started
    outbox.ack(seqs)
    return count / elapsed


def _bare_sqlite_commits_per_s(directory: Path, count: int) -> float:
    db = sqlite3.connect(directory / "bare.sqlite3", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t(seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)")
        body = _event(0).to_json()
        started = time.perf_counter()
        for _ in range(count):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t(body) VALUES(?)", (body,))
            db.execute("COMMIT")
        return count / (time.perf_counter() - started)
    finally:
        db.close()


def _drain(outbox: Outbox, config: UplinkConfig, events: int) -> tuple[float, int]:
    uplink = Uplink(config, outbox, SigningKey.generate())
    started = time.perf_counter()
    uplink.start()
    done = threading.Event()
    try:
        while outbox.depth() and not done.wait(0.01):
            if time.perf_counter() - started > 10 * TARGET_SECONDS:
                raise TimeoutError(f"outbox not drained: {outbox.depth()} of {events} left")
        elapsed = time.perf_counter() - started
    finally:
        uplink.stop()
    return elapsed, uplink.stats().batches_sent


def _bare_paho(config: UplinkConfig, batches: list[bytes]) -> float:
    """Seconds for bare paho to publish the same batch payloads at QoS 1 (pipelined)."""
    broker = config.broker
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-reference", protocol=mqtt.MQTTv5
    )
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        if not connected.wait(10):
            raise TimeoutError("reference client did not connect")
        topic = f"{config.topic_root}/devices/bench-reference/scans"
        started = time.perf_counter()
        infos = [client.publish(topic, payload, qos=1) for payload in batches]
        for info in infos:
            info.wait_for_publish(60)
        return time.perf_counter() - started
    finally:
        client.disconnect()
        client.loop_stop()


def _reference_batches(events: list[StoredEvent], per_batch: int) -> list[bytes]:
    return [
        payloads.batch(
            device_id="bench-reference",
            store_id="0" * 32,
            session=1,
            sent_at=time.time(),
            events=events[i : i + per_batch],
        )
        for i in range(0, len(events), per_batch)
    ]


@command
def main(argv: list[str]) -> int:
    """Run `bench uplink`: drain an outbox to a broker beside a reference client."""
    parser = kit_parser("checkpoint-scanner bench uplink", (__doc__ or "").split("\n\n")[0])
    parser.add_argument("--broker", required=True, help="mqtt://127.0.0.1:PORT")
    parser.add_argument(
        "--events", type=int, default=100_000, help="events to drain through the broker"
    )
    parser.add_argument("--commits", type=int, default=1000, help="single commits to time")
    parser.add_argument("--batch-events", type=int, default=500, help="events per batch at most")
    parser.add_argument(
        "--batch-bytes", type=int, default=64 * 1024, help="bytes per batch at most"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the temp outbox goes")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-uplink-", dir=args.dir) as tmp:
            state = Path(tmp)
            config = UplinkConfig(
                broker_url=args.broker,
                device_id="bench-device",
                state_dir=state,
                batch_max_events=args.batch_events,
                batch_max_bytes=args.batch_bytes,
                reconnect_min_delay_s=0.1,
                reconnect_max_delay_s=1.0,
                poll_interval_s=0.05,
                heartbeat_interval_s=3600,
            )
            with Outbox(state, max_bytes=2 * 1024 * 1024 * 1024) as outbox:
                commits = _commits_per_s(outbox, args.commits)
                bare_commits = _bare_sqlite_commits_per_s(state, args.commits)
                started = time.perf_counter()
                for first in range(0, args.events, 10_000):
                    chunk = range(first, min(args.events, first + 10_000))
                    outbox.record_many([_event(n) for n in chunk])
                fill_seconds = time.perf_counter() - started
                snapshot = outbox.read_batch(args.events, 1 << 40)
                per_batch = max(1, args.batch_bytes // max(1, len(snapshot[0].json) + 1) - 1)
                reference = _reference_batches(snapshot, min(per_batch, args.batch_events))
                seconds, batches = _drain(outbox, config, args.events)
            paho_seconds = _bare_paho(config, reference)
    except (OSError, TimeoutError, ValueError) as exc:
        echo(f"error: {exc}", err=True)
        return 1
    result = {
        "events": args.events,
        "seconds": round(seconds, 3),
        "events_per_s": round(args.events / seconds, 1),
        "commits_per_s": round(commits, 1),
        "batches": batches,
        "batch_max_events": args.batch_events,
        "batch_max_bytes": args.batch_bytes,
        "fill_seconds": round(fill_seconds, 3),
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds < TARGET_SECONDS,
        "reference": {
            "sqlite_wal_full_commits_per_s": round(bare_commits, 1),
            "paho_qos1_same_batches_seconds": round(paho_seconds, 3),
            "paho_qos1_same_batches_events_per_s": round(args.events / paho_seconds, 1),
            "paho_batches": len(reference),
        },
    }
    if args.json:
        echo(json.dumps(result))
    else:
        for key, value in result.items():
            echo(f"{key}: {value}")
    return 0
