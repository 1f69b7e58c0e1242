"""The collector's writes: keys, events exactly once, sequence gaps, status, alerts, counts."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nacl.signing import VerifyKey

from ops.db import Database
from ops.ingest import Batch, Heartbeat, Status, TransientAlert, covered_through
from ops.schema import EVENT_COLUMNS
from scanner.trust.identity import device_id_for

# A device's outbox holds at most ~1.5 million events (512 MiB); a batch that
# would open a hole far wider than that is refused as a sequence from the future.
DEFAULT_MAX_SEQ_AHEAD = 5_000_000
_INSERT_CHUNK = 100  # rows per multi-row INSERT (20 columns: well under every parameter limit)
_STATE_RANK = {"online": 0, "offline": 1}


@dataclass(frozen=True, slots=True)
class IngestResult:
    inserted: int
    duplicates: int
    refused: str | None = None


class EnrollError(ValueError):
    """The device ID does not belong to the given public key."""


class Store:
    """Writes through one ``Database``; every public method is one transaction."""

    def __init__(self, db: Database, *, max_seq_ahead: int = DEFAULT_MAX_SEQ_AHEAD) -> None:
        self.db = db
        self.max_seq_ahead = max_seq_ahead
        self._insert_sql: dict[int, str] = {}

    # -- enrollment --------------------------------------------------------------

    def enroll(
        self, device_id: str, public_key: bytes, checkpoint_id: str, label: str | None = None
    ) -> None:
        """Record a device's key; the ID must be the one the key gives (docs/enrollment.md)."""
        if device_id != device_id_for(VerifyKey(public_key)):
            raise EnrollError(f"device ID {device_id} does not match its public key")
        encoded = base64.b64encode(public_key).decode()
        self.db.execute(
            "INSERT INTO devices (device_id, public_key, checkpoint_id, label, enrolled_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET"
            " public_key = excluded.public_key, checkpoint_id = excluded.checkpoint_id,"
            " label = excluded.label",
            (device_id, encoded, checkpoint_id, label, time.time()),
        )

    def key(self, device_id: str) -> VerifyKey | None:
        rows = self.db.query("SELECT public_key FROM devices WHERE device_id = ?", (device_id,))
        return VerifyKey(base64.b64decode(rows[0][0])) if rows else None

    def keys(self) -> dict[str, VerifyKey]:
        rows = self.db.query("SELECT device_id, public_key FROM devices")
        return {str(d): VerifyKey(base64.b64decode(k)) for d, k in rows}

    # -- events ------------------------------------------------------------------

    def ingest(self, batch: Batch, now: float) -> IngestResult:
        """Insert the batch's new events; the ones already stored count as duplicates."""
        with self.db.transaction():
            stream = self.db.query(
                "SELECT contiguous, highest FROM streams WHERE device_id = ? AND store = ?",
                (batch.device_id, batch.store),
            )
            contiguous, highest = (int(stream[0][0]), int(stream[0][1])) if stream else (0, 0)
            last = covered_through(batch.events[-1])
            if last > max(highest, contiguous) + self.max_seq_ahead:
                return IngestResult(0, 0, refused="seq_from_future")
            inserted = self._insert(batch.events, now)
            if inserted:
                self._account(batch, inserted, contiguous, highest, now)
            duplicates = len(batch.events) - len(inserted)
            self._count("stored", len(inserted))
            self._count("duplicates", duplicates)
            self.db.execute(
                "UPDATE devices SET last_seen = ? WHERE device_id = ?", (now, batch.device_id)
            )
        return IngestResult(len(inserted), duplicates)

    def _insert(self, events: Sequence[tuple[Any, ...]], now: float) -> list[tuple[Any, ...]]:
        by_seq = {event[2]: event for event in events}
        inserted: list[tuple[Any, ...]] = []
        for start in range(0, len(events), _INSERT_CHUNK):
            chunk = events[start : start + _INSERT_CHUNK]
            params = [value for event in chunk for value in (*event, now)]
            # RETURNING names exactly the rows this call stored, so the counts and
            # the per-minute figures below never count a duplicate, whichever
            # collector on a shared subscription got the other copy.
            rows = self.db.query(self._insert_statement(len(chunk)), params)
            inserted.extend(by_seq[int(row[0])] for row in rows)
        inserted.sort(key=lambda event: int(event[2]))
        return inserted

    def _insert_statement(self, n: int) -> str:
        if n not in self._insert_sql:
            one = "(" + ", ".join("?" * len(EVENT_COLUMNS)) + ")"
            # Only constants and placeholders: the values travel as parameters.
            columns = ", ".join(EVENT_COLUMNS)
            values = ", ".join([one] * n)
            self._insert_sql[n] = (
                f"INSERT INTO events ({columns}) VALUES {values}"  # noqa: S608
                " ON CONFLICT (device_id, store, seq) DO NOTHING RETURNING seq"
            )
        return self._insert_sql[n]

    def _account(
        self,
        batch: Batch,
        inserted: list[tuple[Any, ...]],
        contiguous: int,
        highest: int,
        now: float,
    ) -> None:
        minutes: dict[tuple[str, int, str, str], int] = {}
        for event in inserted:
            kind, checkpoint, wall_time, outcome = event[3], event[5], event[6], event[9]
            if kind == "scan" and outcome is not None and wall_time is not None:
                key = (checkpoint or "", int(wall_time // 60), outcome, event[10] or "")
                minutes[key] = minutes.get(key, 0) + 1
            elif kind == "alert":
                self.db.execute(
                    "INSERT INTO alerts (at, device_id, source, code, seq, detail)"
                    " VALUES (?, ?, 'device', ?, ?, ?)",
                    (
                        wall_time or now,
                        batch.device_id,
                        event[17] or "unknown",
                        event[2],
                        event[18],
                    ),
                )
        for (checkpoint, minute, outcome, reason), n in minutes.items():
            self.db.execute(
                "INSERT INTO minutes (checkpoint_id, device_id, minute, outcome, reason, n)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (checkpoint_id, minute, device_id,"
                " outcome, reason) DO UPDATE SET n = minutes.n + excluded.n",
                (checkpoint, batch.device_id, minute, outcome, reason, n),
            )
        self._advance(batch, inserted, contiguous, highest, now)

    def _advance(
        self,
        batch: Batch,
        inserted: list[tuple[Any, ...]],
        contiguous: int,
        highest: int,
        now: float,
    ) -> None:
        """Move the gap-free prefix forward and count the holes above it."""
        highest = max(highest, covered_through(inserted[-1]))
        if inserted[0][2] == contiguous + 1 and all(
            covered_through(a) + 1 == b[2] for a, b in itertools.pairwise(inserted)
        ):
            contiguous = covered_through(inserted[-1])
        if contiguous < highest:
            # Out of order or a hole: walk what is stored above the prefix (only
            # the events of an open hole, normally none).
            rows = self.db.query(
                "SELECT seq, through FROM events WHERE device_id = ? AND store = ?"
                " AND seq > ? ORDER BY seq",
                (batch.device_id, batch.store, contiguous),
            )
            covered = 0
            for seq, through in rows:
                end = int(through) if through is not None else int(seq)
                if int(seq) == contiguous + 1 and covered == 0:
                    contiguous = end
                else:
                    covered += end - int(seq) + 1
            missing = highest - contiguous - covered
        else:
            missing = 0
        self.db.execute(
            "INSERT INTO streams (device_id, store, contiguous, highest, missing, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, store) DO UPDATE SET"
            " contiguous = excluded.contiguous, highest = excluded.highest,"
            " missing = excluded.missing, updated_at = excluded.updated_at",
            (batch.device_id, batch.store, contiguous, highest, missing, now),
        )

    # -- status, heartbeats, alerts, refusals --------------------------------------

    def status(self, status: Status, now: float) -> bool:
        """Apply a status unless an older session's (or an older state's): the rule of mqtt.md 2."""
        rank = _STATE_RANK[status.state]
        changed = self.db.execute(
            "UPDATE devices SET state = ?, session = ?, state_rank = ?, online_since = ?,"
            " status_at = ?, status_reason = ?, software = ?, last_seen = ?"
            " WHERE device_id = ? AND (session IS NULL OR session < ?"
            " OR (session = ? AND state_rank <= ?))",
            (
                status.state,
                status.session,
                rank,
                status.online_since,
                status.at if status.at is not None else now,
                status.reason,
                status.software,
                now,
                status.device_id,
                status.session,
                status.session,
                rank,
            ),
        )
        return changed > 0

    def heartbeat(self, heartbeat: Heartbeat, now: float) -> None:
        self.db.execute(
            "UPDATE devices SET heartbeat = ?, heartbeat_at = ?, last_seen = ? WHERE device_id = ?",
            (heartbeat.document, now, now, heartbeat.device_id),
        )

    def transient_alert(self, alert: TransientAlert, now: float) -> None:
        self.db.execute(
            "INSERT INTO alerts (at, device_id, source, code, seq, detail)"
            " VALUES (?, ?, 'device', ?, NULL, ?)",
            (now, alert.device_id, alert.code, alert.detail),
        )

    def refuse(self, reason: str, device_id: str, now: float) -> None:
        """Count a refused message; one row per (reason, device) so a flood cannot fill the disk."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO refusals (reason, device_id, n, first_at, last_at)"
                " VALUES (?, ?, 1, ?, ?) ON CONFLICT (reason, device_id) DO UPDATE SET"
                " n = refusals.n + 1, last_at = excluded.last_at",
                (reason, device_id, now, now),
            )
            self._count("refused", 1)

    def _count(self, name: str, n: int) -> None:
        if n:
            self.db.execute(
                "INSERT INTO counters (name, n) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET n = counters.n + excluded.n",
                (name, n),
            )

    def counters(self) -> dict[str, int]:
        return {str(name): int(n) for name, n in self.db.query("SELECT name, n FROM counters")}


def detail_json(detail: object) -> str:
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False)
