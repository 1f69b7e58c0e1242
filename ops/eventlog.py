"""Events exactly once, a whole group of batches at a time, under per-stream row locks.

Why not a primary key: PostgreSQL cannot enforce (device_id, store, seq) as a
key across day partitions. Instead every stream (device_id, store) has one row
in ``streams`` holding its gap-free prefix (``contiguous``) and the highest
sequence number seen. A group first locks the rows of the streams it touches
(``FOR UPDATE``, in sorted order so two collectors never deadlock), so no other
collector can insert events of those streams until it commits. Under that lock
a number above ``highest`` is new, one at or below it is looked up and compared:
the same content is a duplicate, different content a conflict. SQLite has one
writer at a time, and keeps the primary key as well.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ops.bulk import Write, json_rows, write_many
from ops.db import Database
from ops.ingest import Batch, covered_through
from ops.schema import EVENT_COLUMNS

Row = tuple[Any, ...]
StreamKey = tuple[str, str]
_LOOKUP_CHUNK = 500
_COLUMNS = ", ".join(EVENT_COLUMNS)
_CONTENT = ", ".join(EVENT_COLUMNS[:-1])  # all but stored_at


@dataclass(slots=True)
class Outcome:
    """What one group of batches came to: stored, duplicates, conflicts, refused batches."""

    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    refused: dict[int, str] = field(default_factory=dict)  # batch index -> reason
    # Streams and minutes to update, left to the caller's one closing statement.
    writes: list[Write] = field(default_factory=list)


@dataclass(slots=True)
class _Stream:
    contiguous: int
    highest: int
    new: list[Row] = field(default_factory=list)


def write(db: Database, batches: Sequence[Batch], now: float, *, max_seq_ahead: int) -> Outcome:
    """Store what is new in ``batches``; call inside the group's transaction.

    The events are in when it returns; the streams and minutes updates are in
    ``Outcome.writes``, for the caller to write (``write_together``) before it
    commits.
    """
    outcome = Outcome()
    if not batches:
        return outcome
    streams = _lock(db, sorted({(b.device_id, b.store) for b in batches}), now)
    for index, batch in enumerate(batches):
        stream = streams[(batch.device_id, batch.store)]
        top = max(stream.highest, stream.contiguous, *(covered_through(r) for r in stream.new[-1:]))
        if covered_through(batch.events[-1]) > top + max_seq_ahead:
            outcome.refused[index] = "seq_from_future"
    known = _stored(db, batches, streams, outcome.refused)
    for index, batch in enumerate(batches):
        if index in outcome.refused:
            continue
        stream = streams[(batch.device_id, batch.store)]
        for row in batch.events:
            key = (batch.device_id, batch.store, row[2])
            earlier = known.get(key)
            if earlier is not None:
                if earlier[: len(row)] == row:
                    outcome.duplicates += 1
                else:
                    _conflict(db, key, earlier, row, now)
                    outcome.conflicts += 1
            elif row[2] <= stream.contiguous:
                _conflict(db, key, None, row, now)  # covered by a shed range, or past retention
                outcome.conflicts += 1
            else:
                known[key] = row
                stream.new.append(row)
    inserted = [row for stream in streams.values() for row in stream.new]
    if inserted:
        _insert(db, inserted, now)
        outcome.writes.append(_advance(db, streams, now))
        outcome.writes.append(_derive(db, inserted, now))
    outcome.stored = len(inserted)
    return outcome


def _lock(db: Database, keys: list[StreamKey], now: float) -> dict[StreamKey, _Stream]:
    found = _select_for_update(db, sorted({device for device, _ in keys}))
    missing = [key for key in keys if key not in found]
    if missing:
        # A stream's first batch: make its row (a second collector inserting the
        # same new stream waits for the first to commit), then lock it as well.
        write_many(
            db,
            "INSERT INTO streams (device_id, store, contiguous, highest, missing, updated_at)"
            " VALUES (?, ?, 0, 0, 0, ?) ON CONFLICT (device_id, store) DO NOTHING",
            [(device, store, now) for device, store in missing],
            postgres="INSERT INTO streams (device_id, store, contiguous, highest, missing,"  # noqa: S608 - constant text
            " updated_at) SELECT d, s, 0, 0, 0, u FROM "
            + json_rows("d text", "s text", "u float8")
            + " AS t ON CONFLICT (device_id, store) DO NOTHING",
        )
        found.update(_select_for_update(db, sorted({device for device, _ in missing})))
    return {key: found[key] for key in keys}


def _select_for_update(db: Database, devices: list[str]) -> dict[StreamKey, _Stream]:
    """The stream rows of these devices, locked (PostgreSQL) in one order for every collector."""
    if db.kind == "postgresql":
        rows = db.query(
            "SELECT device_id, store, contiguous, highest FROM streams WHERE device_id IN"
            " (SELECT jsonb_array_elements_text(?::jsonb)) ORDER BY device_id, store FOR UPDATE",
            (json.dumps(devices),),
        )
    else:
        marks = ", ".join("?" * len(devices))
        rows = db.query(
            "SELECT device_id, store, contiguous, highest FROM streams"  # noqa: S608 - marks only
            f" WHERE device_id IN ({marks})",
            devices,
        )
    return {(str(d), str(s)): _Stream(int(c), int(h)) for d, s, c, h in rows}


def _stored(
    db: Database,
    batches: Sequence[Batch],
    streams: dict[StreamKey, _Stream],
    refused: dict[int, str],
) -> dict[tuple[str, str, int], Row]:
    """The stored copies of every event at or below its stream's highest number."""
    wanted: dict[StreamKey, set[int]] = {}
    for index, batch in enumerate(batches):
        stream = streams[(batch.device_id, batch.store)]
        if index not in refused:
            seqs = {row[2] for row in batch.events if row[2] <= stream.highest}
            if seqs:
                wanted.setdefault((batch.device_id, batch.store), set()).update(seqs)
    found: dict[tuple[str, str, int], Row] = {}
    for (device, store), seqs in wanted.items():
        ordered = sorted(seqs)
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            chunk = ordered[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = db.query(
                f"SELECT {_CONTENT} FROM events WHERE device_id = ? AND store = ?"  # noqa: S608
                f" AND seq IN ({marks})",
                [device, store, *chunk],
            )
            for row in rows:
                found[(device, store, int(row[2]))] = tuple(row)
    return found


def _conflict(
    db: Database, key: tuple[str, str, int], stored: Row | None, received: Row, now: float
) -> None:
    """Keep both versions and raise an alert; a copy of the same conflict is kept once."""
    device, store, seq = key
    document = json.dumps(dict(zip(EVENT_COLUMNS, received, strict=False)))
    if db.query(
        "SELECT 1 FROM conflicts WHERE device_id = ? AND store = ? AND seq = ? AND received = ?",
        (device, store, seq, document),
    ):
        return
    db.execute(
        "INSERT INTO conflicts (at, device_id, store, seq, stored, received)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            now,
            device,
            store,
            seq,
            json.dumps(dict(zip(EVENT_COLUMNS, stored, strict=False))) if stored else None,
            document,
        ),
    )
    detail = json.dumps({"store": store, "note": "same sequence number, different content"})
    db.execute(
        "INSERT INTO alerts (at, device_id, source, code, seq, detail)"
        " VALUES (?, ?, 'central', 'seq_conflict', ?, ?)",
        (now, device, seq, detail),
    )


def _insert(db: Database, rows: list[Row], now: float) -> None:
    full = [(*row, now) for row in rows]
    copy = getattr(db, "copy_rows", None)
    if copy is not None:
        copy("events", EVENT_COLUMNS, full)  # PostgreSQL: one COPY for the group
    else:
        marks = ", ".join("?" * len(EVENT_COLUMNS))
        db.executemany(f"INSERT INTO events ({_COLUMNS}) VALUES ({marks})", full)  # noqa: S608


def _advance(db: Database, streams: dict[StreamKey, _Stream], now: float) -> Write:
    """Move each gap-free prefix forward and count the holes above it."""
    updates = []
    for (device, store), stream in streams.items():
        if not stream.new:
            continue
        new = sorted(stream.new, key=lambda row: int(row[2]))
        contiguous = stream.contiguous
        highest = max(stream.highest, covered_through(new[-1]))
        if new[0][2] == contiguous + 1 and all(
            covered_through(a) + 1 == b[2] for a, b in itertools.pairwise(new)
        ):
            contiguous = covered_through(new[-1])
        missing = 0
        if contiguous < highest:
            # A hole: walk what is stored above the prefix (normally very few rows).
            rows = db.query(
                "SELECT seq, through FROM events WHERE device_id = ? AND store = ?"
                " AND seq > ? ORDER BY seq",
                (device, store, contiguous),
            )
            covered = 0
            for seq, through in rows:
                end = int(through) if through is not None else int(seq)
                if int(seq) == contiguous + 1 and covered == 0:
                    contiguous = end
                else:
                    covered += end - int(seq) + 1
            missing = highest - contiguous - covered
        updates.append((contiguous, highest, missing, now, device, store))
    return Write(
        "UPDATE streams SET contiguous = ?, highest = ?, missing = ?, updated_at = ?"
        " WHERE device_id = ? AND store = ?",
        updates,
        "UPDATE streams SET contiguous = u.c, highest = u.h, missing = u.m,"  # noqa: S608 - constant text
        " updated_at = u.t FROM "
        + json_rows("c bigint", "h bigint", "m bigint", "t float8", "d text", "s text")
        + " AS u WHERE streams.device_id = u.d AND streams.store = u.s",
    )


def _derive(db: Database, rows: list[Row], now: float) -> Write:
    """Per-minute figures and device alerts, from exactly the rows stored."""
    minutes: dict[tuple[str, int, str, str, str], int] = {}
    alerts = []
    for row in rows:
        kind, checkpoint, wall_time, outcome = row[3], row[5], row[6], row[9]
        if kind == "scan" and outcome is not None and wall_time is not None:
            key = (checkpoint or "", int(wall_time // 60), row[0], outcome, row[10] or "")
            minutes[key] = minutes.get(key, 0) + 1
        elif kind == "alert":
            alerts.append((wall_time or now, row[0], row[17] or "unknown", row[2], row[18]))
    if alerts:
        db.executemany(
            "INSERT INTO alerts (at, device_id, source, code, seq, detail)"
            " VALUES (?, ?, 'device', ?, ?, ?)",
            alerts,
        )
    # Sorted: two collectors take these row locks in the same order.
    return Write(
        "INSERT INTO minutes (checkpoint_id, minute, device_id, outcome, reason, n)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (checkpoint_id, minute, device_id,"
        " outcome, reason) DO UPDATE SET n = minutes.n + excluded.n",
        [(*key, n) for key, n in sorted(minutes.items())],
        "INSERT INTO minutes (checkpoint_id, minute, device_id, outcome, reason, n)"  # noqa: S608 - constant text
        " SELECT * FROM "
        + json_rows("c text", "m bigint", "d text", "o text", "r text", "n bigint")
        + " AS u ON CONFLICT (checkpoint_id, minute, device_id, outcome, reason)"
        " DO UPDATE SET n = minutes.n + excluded.n",
    )
