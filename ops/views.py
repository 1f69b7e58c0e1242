"""The read side: fleet state, alerts, per-checkpoint figures and the tracing queries."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ops.contacts import DEFAULT_MAX_CONTACTS, Answer, Query, trace_contacts
from ops.db import Database
from ops.scans import StoredScans

TRACE_LIMIT = 10_000  # rows one tracing answer returns (the CSV says when it was cut)
DEFAULT_STALE_AFTER_S = 180.0  # three default heartbeat intervals (docs/mqtt.md 3)

TRACE_COLUMNS = (
    "trusted_time",
    "clock",
    "wall_time",
    "checkpoint_id",
    "device_id",
    "seq",
    "pass_id",
    "outcome",
    "reason",
)
TRACE_SELECT = (
    "SELECT trusted_time, clock, wall_time, checkpoint_id, device_id, seq, pass_id, outcome,"
    " reason FROM events"
)
# Both keyed on trusted_time, the verifier's clock: wall_time is the unit's own and a Pi
# without a real-time clock can be hours off. Served by ops.schema's trace indexes.
TRACE_PASS_SQL = f"{TRACE_SELECT} WHERE pass_id = ? ORDER BY trusted_time LIMIT ?"
TRACE_CHECKPOINT_SQL = (
    f"{TRACE_SELECT} WHERE checkpoint_id = ? AND trusted_time >= ? AND trusted_time < ?"
    " AND kind = 'scan' ORDER BY trusted_time LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class Views:
    """The read side over one database."""

    db: Database
    stale_after_s: float = DEFAULT_STALE_AFTER_S

    def trace_pass(self, pass_id: str, limit: int = TRACE_LIMIT) -> list[dict[str, Any]]:
        """A pass's scans, newest first."""
        rows = self.db.query(TRACE_PASS_SQL, (pass_id, limit))
        return [dict(zip(TRACE_COLUMNS, row, strict=True)) for row in rows]

    def trace_checkpoint(
        self, checkpoint_id: str, start: int, end: int, limit: int = TRACE_LIMIT
    ) -> list[dict[str, Any]]:
        """The scans at a checkpoint between `start` and `end`."""
        rows = self.db.query(TRACE_CHECKPOINT_SQL, (checkpoint_id, start, end, limit))
        return [dict(zip(TRACE_COLUMNS, row, strict=True)) for row in rows]

    def contacts(self, query: Query, max_contacts: int = DEFAULT_MAX_CONTACTS) -> Answer:
        """F1 (and F2, F3) of the query's cases; see ops.contacts."""
        return trace_contacts(StoredScans(self.db), query, max_contacts=max_contacts)

    def fleet(self, now: float | None = None) -> list[dict[str, Any]]:
        """One row per enrolled device with its health and last hour's accepted/rejected."""
        now = time.time() if now is None else now
        hour = int((now - 3600) // 60)
        counts: dict[str, dict[str, int]] = {}
        for device_id, outcome, n in self.db.query(
            "SELECT device_id, outcome, SUM(n) FROM minutes WHERE minute >= ?"
            " GROUP BY device_id, outcome",
            (hour,),
        ):
            counts.setdefault(str(device_id), {})[str(outcome)] = int(n)
        result = []
        for row in self.db.query(
            "SELECT device_id, checkpoint_id, label, state, session, status_at, status_reason,"
            " last_seen, heartbeat, heartbeat_at FROM devices ORDER BY checkpoint_id, device_id"
        ):
            device_id, checkpoint, label, state, session, _, reason, seen, beat, beat_at = row
            health = _heartbeat(beat)
            online = state == "online"
            stale = online and (beat_at is None or now - float(beat_at) > self.stale_after_s)
            mine = counts.get(str(device_id), {})
            result.append(
                {
                    "device_id": device_id,
                    "checkpoint_id": checkpoint,
                    "label": label,
                    "state": ("stale" if stale else "online") if online else (state or "unknown"),
                    "session": session,
                    "reason": reason,
                    "last_seen": seen,
                    **health,
                    "accepted_1h": mine.get("accept", 0),
                    "rejected_1h": mine.get("reject", 0),
                }
            )
        return result

    def alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest alerts, newest first."""
        rows = self.db.query(
            "SELECT at, device_id, source, code, seq, detail FROM alerts ORDER BY at DESC LIMIT ?",
            (limit,),
        )
        keys = ("at", "device_id", "source", "code", "seq", "detail")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def refusals(self) -> list[dict[str, Any]]:
        """Refused messages by reason and device."""
        rows = self.db.query(
            "SELECT reason, device_id, n, first_at, last_at FROM refusals ORDER BY last_at DESC"
        )
        keys = ("reason", "device_id", "n", "first_at", "last_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest stored events, without pass IDs: the live feed is not a tracing page."""
        rows = self.db.query(
            "SELECT stored_at, device_id, checkpoint_id, seq, kind, outcome, reason, wall_time"
            " FROM events ORDER BY stored_at DESC LIMIT ?",
            (limit,),
        )
        keys = ("stored_at", "device_id", "checkpoint_id", "seq", "kind", "outcome", "reason")
        return [dict(zip((*keys, "wall_time"), row, strict=True)) for row in rows]

    def chart(self, now: float | None = None, minutes: int = 60) -> dict[str, Any]:
        """Per checkpoint and minute: accepted, and rejected by reason, for the last hour."""
        now = time.time() if now is None else now
        first = int(now // 60) - minutes + 1
        series: dict[str, dict[str, Any]] = {}
        for checkpoint, minute, outcome, reason, n in self.db.query(
            "SELECT checkpoint_id, minute, outcome, reason, SUM(n) FROM minutes"
            " WHERE minute >= ? GROUP BY checkpoint_id, minute, outcome, reason",
            (first,),
        ):
            entry = series.setdefault(str(checkpoint), {"accept": [0] * minutes, "reasons": {}})
            index = int(minute) - first
            if not 0 <= index < minutes:
                continue
            if outcome == "accept":
                entry["accept"][index] += int(n)
            else:
                bucket = entry["reasons"].setdefault(str(reason or "other"), [0] * minutes)
                bucket[index] += int(n)
        return {"first_minute": first, "minutes": minutes, "checkpoints": series}

    def gaps(self) -> list[dict[str, Any]]:
        """Streams with missing sequence numbers."""
        rows = self.db.query(
            "SELECT device_id, store, contiguous, highest, missing FROM streams"
            " WHERE missing > 0 ORDER BY device_id"
        )
        keys = ("device_id", "store", "contiguous", "highest", "missing")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def counters(self) -> dict[str, int]:
        """The collector's counters, with the total of missing events."""
        found = {str(name): int(n) for name, n in self.db.query("SELECT name, n FROM counters")}
        missing = self.db.query("SELECT COALESCE(SUM(missing), 0) FROM streams")
        found["gaps"] = int(missing[0][0])
        return found


def _heartbeat(document: str | None) -> dict[str, Any]:
    try:
        beat = json.loads(document) if document else {}
    except ValueError:
        beat = {}
    if not isinstance(beat, dict):
        beat = {}
    trust = _member(beat, "trust")
    outbox = _member(beat, "outbox")
    decode = _member(beat, "decode_ms")
    return {
        "trust_version": trust.get("bundle_version"),
        "trust_age_s": trust.get("age_s"),
        "trust_state": trust.get("state"),
        "revocation_serial": beat.get("revocation_serial"),
        "clock": beat.get("clock"),
        "outbox_depth": outbox.get("depth"),
        "outbox_oldest_s": outbox.get("oldest_unsent_age_s"),
        "fps": beat.get("frames_per_s"),
        "decode_p95": decode.get("p95"),
    }


def _member(document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name)
    return value if isinstance(value, dict) else {}
