"""``checkpoint-ops bench-trace``: bulk-load synthetic scans and time the two tracing queries."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

from ops.db import Database, DatabaseError, PostgresDatabase, open_database
from ops.schema import EVENT_COLUMNS, POSTGRES_TYPES, SQLITE_TYPES, schema
from ops.views import TRACE_CHECKPOINT_SQL, TRACE_LIMIT, TRACE_PASS_SQL
from scanner.cli.kit import CommandError, command, parser, print_json

DEVICES = 2000
CHECKPOINTS = 500
PASSES = 1_000_000
SPAN_S = 30 * 86400
BENCH_STORE = "bench"
_INDEXES = ("events_by_pass", "events_by_checkpoint", "events_by_stored")
_CHUNK = 200_000


def synthetic_rows(count: int, end: float, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """Scans of DEVICES units at CHECKPOINTS checkpoints over 30 days, in time order."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    start = end - SPAN_S
    step = SPAN_S / max(count, 1)
    for i in range(count):
        device = i % DEVICES
        wall = start + i * step
        rejected = rng.random() < 0.08
        yield (
            f"cp-bench{device:08x}",
            BENCH_STORE,
            i // DEVICES + 1,
            "scan",
            None,
            f"CP-{device % CHECKPOINTS:04d}",
            wall,
            int(wall),
            "synced",
            "reject" if rejected else "accept",
            "expired" if rejected else None,
            "fresh",
            f"PX{rng.randrange(PASSES):010d}",
            "9f86d081884c7d65",
            12,
            3456,
            4.2,
            None,
            None,
            wall + 0.05,
        )


def load(db: Database, count: int, end: float) -> float:
    """Insert ``count`` rows with the secondary indexes dropped, then rebuild them; seconds."""
    started = time.perf_counter()
    for name in _INDEXES:
        db.execute(f"DROP INDEX IF EXISTS {name}")
    rows = synthetic_rows(count, end)
    if isinstance(db, PostgresDatabase):
        db.copy_rows("events", EVENT_COLUMNS, rows)
        db.execute("SET maintenance_work_mem = '512MB'")
    else:
        # A throwaway benchmark file: no journal, no fsync while loading.
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        marks = ", ".join("?" * len(EVENT_COLUMNS))
        sql = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})"  # noqa: S608
        while True:
            chunk = [row for _, row in zip(range(_CHUNK), rows, strict=False)]
            if not chunk:
                break
            with db.transaction():
                db.executemany(sql, chunk)
    types = POSTGRES_TYPES if isinstance(db, PostgresDatabase) else SQLITE_TYPES
    for statement in schema(types):
        if "CREATE INDEX" in statement:
            db.execute(statement)
    db.execute("ANALYZE")
    return time.perf_counter() - started


def explain(db: Database, sql: str, params: tuple[Any, ...]) -> str:
    """The query plan as one string (which index, if any, answers the query)."""
    if isinstance(db, PostgresDatabase):
        return " / ".join(str(row[0]) for row in db.query("EXPLAIN " + sql, params))
    return " / ".join(str(row[-1]) for row in db.query("EXPLAIN QUERY PLAN " + sql, params))


def _time(db: Database, sql: str, params: tuple[Any, ...]) -> tuple[float, int]:
    started = time.perf_counter()
    rows = db.query(sql, params)
    return (time.perf_counter() - started) * 1000, len(rows)


def measure(db: Database, rows: int, end: float, samples: int = 20) -> dict[str, Any]:
    """Time each question over random stored passes and checkpoints; the slowest answer counts."""
    rng = random.Random(11)  # noqa: S311
    results: dict[str, Any] = {}
    pass_params = []
    for _ in range(samples):
        i = rng.randrange(rows)
        found = db.query(
            "SELECT pass_id FROM events WHERE device_id = ? AND store = ? AND seq = ?",
            (f"cp-bench{i % DEVICES:08x}", BENCH_STORE, i // DEVICES + 1),
        )
        pass_params.append((str(found[0][0]) if found else "PX0", TRACE_LIMIT))
    windows = {"checkpoint_1h": 3600, "checkpoint_1d": 86400}
    questions: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
        "pass": (TRACE_PASS_SQL, pass_params)
    }
    for name, width in windows.items():
        params = []
        for _ in range(samples):
            t1 = rng.uniform(end - SPAN_S, end - width)
            params.append((f"CP-{rng.randrange(CHECKPOINTS):04d}", t1, t1 + width, TRACE_LIMIT))
        questions[name] = (TRACE_CHECKPOINT_SQL, params)
    for name, (sql, params_list) in questions.items():
        timings = [_time(db, sql, params) for params in params_list]
        millis = [t for t, _ in timings]
        results[name] = {
            "p50_ms": round(statistics.median(millis), 2),
            "max_ms": round(max(millis), 2),
            "rows_avg": round(statistics.mean(n for _, n in timings), 1),
            "plan": explain(db, sql, params_list[0]),
        }
    return results


@command
def main(argv: list[str]) -> int:
    p = parser("checkpoint-ops bench-trace", "Time the tracing queries over synthetic scans.")
    p.add_argument("--db", required=True, help="a throwaway database: sqlite:///bench.db or ...")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        db = open_database(args.db)
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    have = int(db.query("SELECT COUNT(*) FROM events")[0][0])
    foreign = db.query("SELECT 1 FROM events WHERE store <> ? LIMIT 1", (BENCH_STORE,))
    if foreign:
        raise CommandError("this database holds real events: give the benchmark its own")
    end = 1_800_000_000.0  # fixed, so a second run reuses the rows already loaded
    load_s = None
    if have != args.rows:
        db.execute("DELETE FROM events")
        load_s = round(load(db, args.rows, end), 1)
    report = {
        "backend": db.kind,
        "rows": args.rows,
        "load_s": load_s,
        **measure(db, args.rows, end),
    }
    db.close()
    if not args.json:
        for key, value in report.items():
            print(f"{key}: {value}")
    print_json(report)
    worst = max(report[q]["max_ms"] for q in ("pass", "checkpoint_1h", "checkpoint_1d"))
    return 0 if worst < 1000 else 1
