"""``checkpoint-ops bench-trace``: bulk-load synthetic traffic and time the tracing queries.

Beside the two index reads (a pass's scans, a checkpoint's hour and day) it times
contacts at depth 2, the question the logs are kept for, and prints the target.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from ops.contacts import Query, trace_contacts
from ops.db import Database, DatabaseError, PostgresDatabase, open_database
from ops.scans import PG_WINDOWS, StoredScans
from ops.schema import EVENT_COLUMNS, EVENT_INDEX_NAMES, POSTGRES_TYPES, SQLITE_TYPES, schema
from ops.trace_schema import prepare as prepare_tracing
from ops.traffic import (
    BENCH_STORE,
    CHECKPOINTS,
    DEVICES,
    checkpoint_id,
    device_id,
    synthetic_rows,
)
from ops.views import TRACE_CHECKPOINT_SQL, TRACE_LIMIT, TRACE_PASS_SQL
from scanner.cli.kit import CommandError, command, echo, parser, print_json

TARGET_MS = 1000  # every answer, contacts at depth 2 included, over 20 million events
_CHUNK = 200_000
_CASE_WINDOW_S = 86400  # the infectious window of a benchmark case: one day around a scan


def load(db: Database, count: int, end: float) -> float:
    """Insert ``count`` rows with the secondary indexes dropped, then rebuild them; seconds."""
    started = time.perf_counter()
    for name in EVENT_INDEX_NAMES:
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
    prepare_tracing(db)
    # VACUUM as well on PostgreSQL: it marks the pages all-visible, which index-only scans
    # need (autovacuum does the same for an insert-only table in production).
    db.execute("VACUUM ANALYZE events" if isinstance(db, PostgresDatabase) else "ANALYZE")
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


def _stored_scans(
    db: Database, rows: int, samples: int, rng: random.Random
) -> list[tuple[str, int]]:
    """(pass ID, trusted time) of random stored scans from the middle of the span."""
    per_device = max(1, rows // DEVICES)
    found: list[tuple[str, int]] = []
    while len(found) < samples:
        seq = rng.randint(max(1, int(per_device * 0.3)), max(1, int(per_device * 0.7)))
        hit = db.query(
            "SELECT pass_id, trusted_time FROM events"
            " WHERE device_id = ? AND store = ? AND seq = ?",
            (device_id(rng.randrange(DEVICES)), BENCH_STORE, seq),
        )
        if hit:
            found.append((str(hit[0][0]), int(hit[0][1])))
    return found


def _summary(timings: list[tuple[float, int]], plan: str) -> dict[str, Any]:
    millis = [t for t, _ in timings]
    return {
        "p50_ms": round(statistics.median(millis), 2),
        "max_ms": round(max(millis), 2),
        "rows_avg": round(statistics.mean(n for _, n in timings), 1),
        "plan": plan,
    }


def measure(db: Database, rows: int, samples: int = 20) -> dict[str, Any]:
    """Time each question over random stored passes and checkpoints; the slowest answer counts."""
    rng = random.Random(11)  # noqa: S311
    first, last = (
        int(v) for v in db.query("SELECT MIN(trusted_time), MAX(trusted_time) FROM events")[0]
    )
    cases = _stored_scans(db, rows, samples, rng)
    results: dict[str, Any] = {}
    pass_params = [(pass_id, TRACE_LIMIT) for pass_id, _ in cases]
    results["pass"] = _summary(
        [_time(db, TRACE_PASS_SQL, p) for p in pass_params],
        explain(db, TRACE_PASS_SQL, pass_params[0]),
    )
    for name, width in (("checkpoint_1h", 3600), ("checkpoint_1d", 86400)):
        params = []
        for _ in range(samples):
            t1 = int(rng.uniform(first, max(first, last - width)))
            params.append((checkpoint_id(rng.randrange(CHECKPOINTS)), t1, t1 + width, TRACE_LIMIT))
        results[name] = _summary(
            [_time(db, TRACE_CHECKPOINT_SQL, p) for p in params],
            explain(db, TRACE_CHECKPOINT_SQL, params[0]),
        )
    results["contacts_depth2"] = _contacts(db, cases)
    return results


def _contacts(db: Database, cases: list[tuple[str, int]]) -> dict[str, Any]:
    """Depth 2, a 15-minute window, one day of infection around a stored scan of the case."""
    timings, cpu, f1, f2, statements, cut = [], [], [], [], [], 0
    for pass_id, at in cases:
        reads = StoredScans(db)
        query = Query((pass_id,), at - _CASE_WINDOW_S // 2, at + _CASE_WINDOW_S // 2, 900, 2)
        started, cpu_started = time.perf_counter(), time.process_time()
        answer = trace_contacts(reads, query)
        timings.append(((time.perf_counter() - started) * 1000, len(answer.contacts)))
        cpu.append((time.process_time() - cpu_started) * 1000)
        f1.append(sum(1 for c in answer.contacts if c.level == 1))
        f2.append(sum(1 for c in answer.contacts if c.level == 2))
        statements.append(reads.statements)
        cut += answer.cut is not None
    plan = ""
    if isinstance(db, PostgresDatabase):
        plan = explain(db, PG_WINDOWS, (["CP-0001"], [cases[0][1]], [cases[0][1] + 900], 10))
    summary = _summary(timings, plan or "one events_by_checkpoint_trusted range per window")
    summary.update(
        # This process's CPU alone (all of SQLite's work, none of PostgreSQL's): on a shared
        # machine it shows what the wall-clock figures owe to waiting for a core.
        p50_cpu_ms=round(statistics.median(cpu), 2),
        max_cpu_ms=round(max(cpu), 2),
        f1_avg=round(statistics.mean(f1), 1),
        f2_avg=round(statistics.mean(f2), 1),
        statements_avg=round(statistics.mean(statements), 1),
        cut=cut,
    )
    return summary


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops bench-trace`: time the tracing queries over synthetic traffic."""
    p = parser("checkpoint-ops bench-trace", "Time the tracing queries over synthetic traffic.")
    p.add_argument("--db", required=True, help="a throwaway database: sqlite:///bench.db or ...")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--samples", type=int, default=20, help="answers timed per question")
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
        db.execute("TRUNCATE events" if isinstance(db, PostgresDatabase) else "DELETE FROM events")
        load_s = round(load(db, args.rows, end), 1)
    else:
        prepare_tracing(db)
    report = {
        "backend": db.kind,
        "rows": args.rows,
        "load_s": load_s,
        "target_ms": TARGET_MS,
        **measure(db, args.rows, max(1, args.samples)),
    }
    db.close()
    if not args.json:
        for key, value in report.items():
            echo(f"{key}: {value}")
    print_json(report)
    questions = ("pass", "checkpoint_1h", "checkpoint_1d", "contacts_depth2")
    worst = max(report[q]["max_ms"] for q in questions)
    return 0 if worst < TARGET_MS else 1
