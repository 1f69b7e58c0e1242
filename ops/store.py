"""The collector's writes: keys, whole groups of messages in one transaction, counts."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from nacl.signing import VerifyKey

from ops import eventlog
from ops.bulk import Write, json_rows, write_many, write_together
from ops.db import Database
from ops.ingest import Batch, Heartbeat, Message, Parsed, Refused, Status, TransientAlert
from scanner.trust.identity import device_id_for

# A device's outbox holds at most ~1.5 million events (512 MiB); a batch that
# would open a hole far wider than that is refused as a sequence from the future.
DEFAULT_MAX_SEQ_AHEAD = 5_000_000
LAST_SEEN_STEP_S = 5.0
_STATE_RANK = {"online": 0, "offline": 1}
# Quarantine keeps the payload verbatim up to this size; anything longer was
# refused as too large and cannot be a scanner's batch, so only its head is kept.
QUARANTINE_KEEP_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What storing one batch came to: inserted, duplicates, or why it was refused."""

    inserted: int
    duplicates: int
    refused: str | None = None


@dataclass(slots=True)
class GroupResult:
    """What one group's transaction did (the collector adds it to its own counters)."""

    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    quarantined: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (reason, device_id)


class EnrollError(ValueError):
    """The device ID does not belong to the given public key."""


Entry = tuple[Message, Parsed]


class Store:
    """Writes through one ``Database``; every public method is one transaction."""

    def __init__(
        self,
        db: Database,
        *,
        max_seq_ahead: int = DEFAULT_MAX_SEQ_AHEAD,
        collector: str = "checkpoint-ops",
    ) -> None:
        self.db = db
        self.max_seq_ahead = max_seq_ahead
        self.collector = collector  # names this writer's own counter rows
        self._seen_at: dict[str, float] = {}

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
        """The enrolled public key of `device_id`, None if not enrolled."""
        rows = self.db.query("SELECT public_key FROM devices WHERE device_id = ?", (device_id,))
        return VerifyKey(base64.b64decode(rows[0][0])) if rows else None

    def keys(self) -> dict[str, VerifyKey]:
        """Every enrolled device's public key."""
        rows = self.db.query("SELECT device_id, public_key FROM devices")
        return {str(d): VerifyKey(base64.b64decode(k)) for d, k in rows}

    # -- a group of messages -------------------------------------------------------

    def apply(self, entries: Sequence[Entry], now: float) -> GroupResult:
        """Store, apply or quarantine every entry, all in one transaction."""
        result = GroupResult()
        batches = [(m, p) for m, p in entries if isinstance(p, Batch)]
        self.db.ensure_partitions(
            [int(r[7]) for _, b in batches for r in b.events if r[7] is not None]
        )
        with self.db.transaction():
            outcome = eventlog.write(
                self.db,
                [b for _, b in batches],
                now,
                max_seq_ahead=self.max_seq_ahead,
            )
            result.stored, result.duplicates = outcome.stored, outcome.duplicates
            result.conflicts = outcome.conflicts
            refusals = [
                (m, Refused(reason, batches[i][1].device_id))
                for i, reason in outcome.refused.items()
                for m in (batches[i][0],)
            ]
            refusals += [(m, p) for m, p in entries if isinstance(p, Refused)]
            for message, refused in refusals:
                if refused.keep:
                    self.quarantine(message, refused.reason, refused.device_id, now)
                    result.quarantined += 1
                result.refused.append((refused.reason, refused.device_id))
            self._refusals(result.refused, now)
            figures = {
                "stored": result.stored,
                "duplicates": result.duplicates,
                "conflicts": result.conflicts,
                "quarantined": result.quarantined,
                "refused": len(result.refused),
            }
            # Streams, minutes, last_seen and counters: one statement on PostgreSQL.
            seen = self._seen(sorted({b.device_id for _, b in batches}), now)
            write_together(self.db, [*outcome.writes, seen, self._counted(figures)])
            for _, parsed in entries:
                if isinstance(parsed, Status):
                    self.status(parsed, now)
                elif isinstance(parsed, TransientAlert):
                    self.transient_alert(parsed, now)
            self._heartbeats([p for _, p in entries if isinstance(p, Heartbeat)], now)
        return result

    def ingest(self, batch: Batch, now: float) -> IngestResult:
        """One batch on its own (tests, replays): what was new, what was a duplicate."""
        message = Message(f"(direct)/{batch.device_id}/scans", b"")
        result = self.apply([(message, batch)], now)
        refused = result.refused[0][0] if result.refused else None
        return IngestResult(result.stored, result.duplicates, refused)

    def quarantine(self, message: Message, reason: str, device_id: str, now: float) -> None:
        """Keep a message verbatim with why it was not stored (ops/quarantine.py reads it)."""
        payload = message.payload
        if len(payload) > QUARANTINE_KEEP_BYTES:
            reason = f"{reason} ({len(payload)} bytes; the first {QUARANTINE_KEEP_BYTES} kept)"
            payload = payload[:QUARANTINE_KEEP_BYTES]
        self.db.execute(
            "INSERT INTO quarantine (at, reason, device_id, topic, payload, properties)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (now, reason, device_id, message.topic, payload, json.dumps(message.user_properties)),
        )

    def _seen(self, devices: list[str], now: float) -> Write:
        # last_seen to the nearest few seconds is all the dashboard needs; not
        # rewriting a device's row for every one-event message saves a write.
        devices = [d for d in devices if now - self._seen_at.get(d, 0.0) >= LAST_SEEN_STEP_S]
        self._seen_at.update(dict.fromkeys(devices, now))
        return Write(
            "UPDATE devices SET last_seen = ? WHERE device_id = ?",
            [(now, d) for d in devices],
            "UPDATE devices SET last_seen = u.t FROM "  # noqa: S608 - constant text
            + json_rows("t float8", "d text")
            + " AS u WHERE devices.device_id = u.d",
        )

    def _heartbeats(self, heartbeats: list[Heartbeat], now: float) -> None:
        """The latest heartbeat per device in the group, in one statement."""
        latest = {h.device_id: h for h in heartbeats}
        write_many(
            self.db,
            "UPDATE devices SET heartbeat = ?, heartbeat_at = ?, last_seen = ? WHERE device_id = ?",
            [(h.document, now, now, d) for d, h in sorted(latest.items())],
            postgres="UPDATE devices SET heartbeat = u.h, heartbeat_at = u.a, last_seen = u.s"  # noqa: S608 - constant text
            " FROM "
            + json_rows("h text", "a float8", "s float8", "d text")
            + " AS u WHERE devices.device_id = u.d",
        )

    def _refusals(self, refused: list[tuple[str, str]], now: float) -> None:
        """One row per (reason, device) so a flood of bad messages cannot fill the disk."""
        counted: dict[tuple[str, str], int] = {}
        for key in refused:
            counted[key] = counted.get(key, 0) + 1
        if counted:
            self.db.executemany(
                "INSERT INTO refusals (reason, device_id, n, first_at, last_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (reason, device_id) DO UPDATE SET"
                " n = refusals.n + excluded.n, last_at = excluded.last_at",
                [(r, d, n, now, now) for (r, d), n in sorted(counted.items())],
            )

    # -- status, heartbeats, alerts --------------------------------------------------

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
        """Store one heartbeat."""
        self._heartbeats([heartbeat], now)

    def transient_alert(self, alert: TransientAlert, now: float) -> None:
        """Record an alert the device sent directly (not through its outbox)."""
        self.db.execute(
            "INSERT INTO alerts (at, device_id, source, code, seq, detail)"
            " VALUES (?, ?, 'device', ?, NULL, ?)",
            (now, alert.device_id, alert.code, alert.detail),
        )

    # -- counters ------------------------------------------------------------------

    def count(self, figures: dict[str, int]) -> None:
        """Add to this writer's own counter rows: no row is shared by two collectors."""
        write_together(self.db, [self._counted(figures)])

    def _counted(self, figures: dict[str, int]) -> Write:
        rows = sorted((self.collector, name, n) for name, n in figures.items() if n)
        return Write(
            "INSERT INTO collector_counters (collector, name, n) VALUES (?, ?, ?)"
            " ON CONFLICT (collector, name) DO UPDATE SET n = collector_counters.n + excluded.n",
            rows,
            "INSERT INTO collector_counters (collector, name, n) SELECT * FROM "  # noqa: S608 - constant text
            + json_rows("c text", "k text", "n bigint")
            + " AS u ON CONFLICT (collector, name)"
            " DO UPDATE SET n = collector_counters.n + excluded.n",
        )

    def counters(self) -> dict[str, int]:
        """The collector's counters by name."""
        return {str(name): int(n) for name, n in self.db.query("SELECT name, n FROM counters")}
