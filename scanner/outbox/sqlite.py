"""The SQLite file beneath the outbox: durable settings, table layout, store ID, transactions."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shed (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    recorded_at REAL NOT NULL
);
"""


def open_database(path: Path) -> tuple[sqlite3.Connection, str]:
    """Open (or create) the outbox file with durable settings; returns it and its store ID.

    The connection is in autocommit mode and may be used from any thread: the
    caller serialises access and opens each transaction with ``Transaction``.
    """
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # FULL: WAL with NORMAL may lose the last commits on power loss.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    # Keep the WAL from staying large after a long offline stretch was drained.
    db.execute("PRAGMA journal_size_limit=4194304")
    with Transaction(db):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        row = db.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()
        if row is None:
            store_id = uuid.uuid4().hex
            db.execute("INSERT INTO meta(key, value) VALUES('store_id', ?)", (store_id,))
        else:
            store_id = str(row[0])
    return db, store_id


def shed_oldest_telemetry(db: sqlite3.Connection, limit: int) -> int:
    """Delete up to ``limit`` oldest telemetry rows, keeping their numbers as shed ranges.

    Returns how many were shed (0 when there is no telemetry). Runs inside the
    caller's transaction.
    """
    rows = db.execute(
        "SELECT seq, recorded_at FROM events WHERE kind='telemetry' ORDER BY seq LIMIT ?",
        (limit,),
    ).fetchall()
    if not rows:
        return 0
    # Deleting (not shrinking) is what frees B-tree pages; runs of consecutive
    # numbers become one range so the receiver still sees no gap. A range is
    # never extended later: acking its first number removes exactly it.
    seqs = [int(row[0]) for row in rows]
    db.executemany("DELETE FROM events WHERE seq = ?", [(seq,) for seq in seqs])
    runs: list[list[int]] = []
    for seq in seqs:
        if runs and seq == runs[-1][1] + 1:
            runs[-1][1] = seq
        else:
            runs.append([seq, seq])
    times = {int(row[0]): float(row[1]) for row in rows}
    db.executemany(
        "INSERT INTO shed(first_seq, last_seq, recorded_at) VALUES(?, ?, ?)",
        [(first, last, times[first]) for first, last in runs],
    )
    return len(seqs)


def forget_delivered(db: sqlite3.Connection, seqs: list[int]) -> None:
    """Take numbers that reached central as events out of the shed ranges covering them.

    An event may be shed while its batch is in flight; when that batch is then
    acknowledged, only the numbers it carried are delivered, so a range
    ``(first, last)`` holding one of them is cut around it, never dropped whole
    (dropping it would lose every other number it covers). Runs inside the
    caller's transaction.
    """
    if db.execute("SELECT 1 FROM shed LIMIT 1").fetchone() is None:
        return  # the usual case: nothing was ever shed, nothing to look up
    for seq in seqs:
        row = db.execute(
            "SELECT first_seq, last_seq, recorded_at FROM shed WHERE first_seq <= ? "
            "ORDER BY first_seq DESC LIMIT 1",
            (seq,),
        ).fetchone()
        if row is None or int(row[1]) < seq:
            continue
        first, last, at = int(row[0]), int(row[1]), float(row[2])
        db.execute("DELETE FROM shed WHERE first_seq = ?", (first,))
        parts = [(first, seq - 1), (seq + 1, last)]
        db.executemany(
            "INSERT INTO shed(first_seq, last_seq, recorded_at) VALUES(?, ?, ?)",
            [(a, b, at) for a, b in parts if a <= b],
        )


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                # A full disk can fail the COMMIT itself and leave the transaction
                # open; roll it back so the next BEGIN works once there is room.
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        if self._db.in_transaction:
            # SQLite may already have rolled back by itself after an I/O error.
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
