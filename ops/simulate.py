"""``checkpoint-ops simulate``: N devices (real Outbox and Uplink each) through a collector."""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ops.db import Database, DatabaseError, open_database
from ops.store import Store
from scanner.cli.kit import CommandError, command, echo, parser, print_json
from scanner.cli.progress import Progress
from scanner.demo.broker import Broker
from scanner.trust.identity import device_id_for

_DEVICES_PER_PROCESS = 50


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops simulate`: simulated devices through a collector."""
    p = parser("checkpoint-ops simulate", "Run simulated devices and report what was stored.")
    p.add_argument("--broker", help="mqtt://host:port; default: start a private Mosquitto")
    p.add_argument("--db", required=True, help="sqlite:///sim.db or postgresql://...")
    p.add_argument("--devices", type=int, default=10, help="simulated units")
    p.add_argument("--rate", type=float, default=1.0, help="scans per second per device")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of scanning")
    p.add_argument(
        "--chaos",
        action="store_true",
        help="devices drop off and come back; the broker (if ours) and the "
        "collector (if ours) are restarted in the middle",
    )
    p.add_argument(
        "--external-collector", action="store_true", help="another collector already writes to --db"
    )
    p.add_argument("--processes", type=int, default=0, help="device processes (default: auto)")
    p.add_argument("--state-dir", type=Path, help="where the device outboxes go (default: tmpfs)")
    p.add_argument("--json", action="store_true", help="only the JSON summary")
    args = p.parse_args(argv)
    if args.devices < 1 or args.rate <= 0 or args.duration <= 0:
        raise CommandError("--devices, --rate and --duration must be positive")
    with tempfile.TemporaryDirectory(prefix="ops-sim-", dir=_state_root(args.state_dir)) as tmp:
        summary = _simulate(args, Path(tmp))
    if not args.json:
        for key, value in summary.items():
            echo(f"{key:>20}: {value}")
    print_json(summary)
    exact = summary["stored"] == summary["produced"] and summary["gaps"] == 0
    return 0 if exact else 1


def _state_root(given: Path | None) -> str | None:
    # The outboxes fsync every scan (synchronous=FULL); on tmpfs that costs
    # nothing, so the run measures the central side, not 200 SD cards on one disk.
    if given is not None:
        return str(given)
    return "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108


def _simulate(args: Any, tmp: Path) -> dict[str, Any]:
    progress = Progress("simulate", stages=3)
    progress.step("starting the broker, collector and devices")
    broker = None
    if args.broker is None:
        broker = Broker(tmp / "broker", persistence=True)
        broker.start()
    broker_url = args.broker or broker.url  # type: ignore[union-attr]
    try:
        db = open_database(args.db)
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    seeds = [secrets.token_bytes(32) for _ in range(args.devices)]
    store = Store(db)
    from nacl.signing import SigningKey  # noqa: PLC0415

    for index, seed in enumerate(seeds):
        key = SigningKey(seed).verify_key
        checkpoint = f"SIM-{index % max(1, args.devices // 4):03d}"
        store.enroll(device_id_for(key), bytes(key), checkpoint, f"simulated {index}")
    before = store.counters().get("duplicates", 0)
    collector = None if args.external_collector else _Collector(broker_url, args.db, tmp)
    started = time.time()
    try:
        reports = _run_fleet(
            args, seeds, broker_url, broker=broker, collector=collector, tmp=tmp, progress=progress
        )
        pairs = [(*v, k) for r in reports for k, v in r["devices"].items()]
        produced = sum(int(r["produced"]) for r in reports)
        progress.step("waiting for the collector to store every event", total=produced)
        deadline = time.monotonic() + 60
        while (stored := _stored(db, pairs)) < produced and time.monotonic() < deadline:
            progress.advance(stored)
            time.sleep(0.2)
        progress.finish()
        return _summary(
            db, pairs, produced, duplicates_before=before, started=started, reports=reports
        )
    finally:
        if collector is not None:
            collector.stop()
        if broker is not None:
            broker.stop()
        db.close()


class _Collector:
    """``checkpoint-ops collect`` as a child process, so it has a core (and a GIL) of its own."""

    def __init__(self, broker_url: str, db_url: str, tmp: Path) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "ops.cli",
            "collect",
            "--broker",
            broker_url,
            "--db",
            db_url,
            "--client-id",
            f"checkpoint-ops-sim-{secrets.token_hex(4)}",
        ]
        self.log = tmp / "collector.log"
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        seen = self.log.read_text().count("collector subscribed") if self.log.exists() else 0
        with self.log.open("ab") as out:
            process = subprocess.Popen(self._argv, stdout=out, stderr=out)  # noqa: S603
        deadline = time.monotonic() + 30
        while self.log.read_text().count("collector subscribed") <= seen:
            if time.monotonic() > deadline or process.poll() is not None:
                raise CommandError(f"collector did not start: {self.log.read_text()[-500:]}")
            time.sleep(0.05)
        return process

    def kill_and_restart(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)  # only the PID we started
        self.process.wait(10)
        self.process = self._start()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _run_fleet(
    args: Any,
    seeds: list[bytes],
    broker_url: str,
    *,
    broker: Broker | None,
    collector: _Collector | None,
    tmp: Path,
    progress: Progress,
) -> list[dict[str, Any]]:
    count = args.processes or max(1, min(8, math.ceil(len(seeds) / _DEVICES_PER_PROCESS)))
    children = []
    for n in range(count):
        spec = {
            "broker": broker_url,
            "devices": [
                {"seed": seed.hex(), "checkpoint": f"SIM-{i % max(1, len(seeds) // 4):03d}"}
                for i, seed in enumerate(seeds)
                if i % count == n
            ],
            "rate": args.rate,
            "duration": args.duration,
            "chaos": args.chaos,
            "state_dir": str(tmp / f"fleet-{n}"),
            "seed": n,
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "ops.fleet"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None
        child.stdin.write(json.dumps(spec).encode())
        child.stdin.close()
        children.append(child)
    progress.step("scanning (seconds)", total=math.ceil(args.duration))
    if args.chaos:
        _chaos(args.duration, broker, collector, progress)
    else:
        _elapse(args.duration, progress)
    reports = []
    for child in children:
        assert child.stdout is not None
        out = child.stdout.read()
        child.wait(args.duration + 120)
        lines = out.decode().strip().splitlines()
        if child.returncode != 0 or not lines:
            raise CommandError(f"a fleet process failed (exit {child.returncode})")
        reports.append(json.loads(lines[-1]))
    return reports


def _chaos(
    duration: float, broker: Broker | None, collector: _Collector | None, progress: Progress
) -> None:
    """A broker restart at a third of the run and a killed collector at two thirds."""
    started = time.monotonic()
    _elapse(duration / 3, progress)
    if broker is not None:
        broker.restart()
    _elapse(duration * 2 / 3, progress, started)
    if collector is not None:
        collector.kill_and_restart()
    _elapse(duration, progress, started)


def _elapse(seconds: float, progress: Progress, since: float | None = None) -> None:
    """Wait until `seconds` after `since` (default now), reporting the seconds gone by."""
    started = time.monotonic() if since is None else since
    waiting = threading.Event()
    while (gone := time.monotonic() - started) < seconds:
        progress.advance(int(gone))
        waiting.wait(min(0.2, seconds - gone))


def _stored(db: Database, pairs: list[tuple[Any, ...]]) -> int:
    total = 0
    for store_id, _, device_id in pairs:
        rows = db.query(
            "SELECT COUNT(*) FROM events WHERE device_id = ? AND store = ?", (device_id, store_id)
        )
        total += int(rows[0][0])
    return total


def _summary(
    db: Database,
    pairs: list[tuple[Any, ...]],
    produced: int,
    *,
    duplicates_before: int,
    started: float,
    reports: list[dict[str, Any]],
) -> dict[str, Any]:
    latencies: list[float] = []
    stored_times: list[float] = []
    gaps = 0
    for store_id, _, device_id in pairs:
        for stored_at, wall_time in db.query(
            "SELECT stored_at, wall_time FROM events WHERE device_id = ? AND store = ?",
            (device_id, store_id),
        ):
            latencies.append((float(stored_at) - float(wall_time)) * 1000)
            stored_times.append(float(stored_at))
        rows = db.query(
            "SELECT missing FROM streams WHERE device_id = ? AND store = ?", (device_id, store_id)
        )
        gaps += int(rows[0][0]) if rows else 0
    latencies.sort()
    duplicates = int(Store(db).counters().get("duplicates", 0)) - duplicates_before
    span = (max(stored_times) - min(stored_times)) if len(stored_times) > 1 else 0.0
    return {
        "devices": len(pairs),
        "produced": produced,
        "stored": len(latencies),
        "duplicates": duplicates,
        "gaps": gaps,
        "latency_ms": {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95)},
        "ingest_events_per_s": round(len(latencies) / span, 1) if span else None,
        "peak_ingest_per_s": _peak(stored_times),
        "undrained": sum(int(r["undrained"]) for r in reports),
        "backend": db.kind,
        "wall_s": round(time.time() - started, 1),
    }


def _pct(values: list[float], percent: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(len(values) * percent / 100))], 1)


def _peak(stored_times: list[float]) -> int:
    """The most events stored within one wall-clock second (catching up after a restart)."""
    buckets: dict[int, int] = {}
    for at in stored_times:
        buckets[int(at)] = buckets.get(int(at), 0) + 1
    return max(buckets.values(), default=0)
