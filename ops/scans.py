"""The stored scans as `ops.contacts.ScanReads`: the two trusted-time index reads, in batches."""

from __future__ import annotations

from collections.abc import Sequence

from ops.contacts import Scan
from ops.db import Database, Row

_COLUMNS = "pass_id, checkpoint_id, device_id, trusted_time, clock"
_SCANS = "kind = 'scan' AND pass_id IS NOT NULL"
_PASS_CHUNK = 500  # pass IDs per IN list (SQLite allows 32766 parameters; keep plans small)
# PostgreSQL: one statement for every window, each answered by its own index range scan.
# OFFSET 0 keeps the LATERAL subquery from being flattened into a join: flattened, the
# planner (which cannot see how narrow each window is) picked a parallel scan of every row
# at 20 million rows; kept apart, it walks events_by_checkpoint_trusted once per window.
PG_WINDOWS = (
    "SELECT e.pass_id, e.checkpoint_id, e.device_id, e.trusted_time, e.clock"
    " FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS w(checkpoint_id, lo, hi)"
    " CROSS JOIN LATERAL (SELECT pass_id, checkpoint_id, device_id, trusted_time, clock"
    " FROM events WHERE checkpoint_id = w.checkpoint_id AND trusted_time BETWEEN w.lo AND w.hi"
    " AND kind = 'scan' AND pass_id IS NOT NULL OFFSET 0) AS e LIMIT ?"
)
_ONE_WINDOW = (
    f"SELECT {_COLUMNS} FROM events WHERE checkpoint_id = ? AND trusted_time BETWEEN ? AND ?"  # noqa: S608
    f" AND {_SCANS} LIMIT ?"
)


class StoredScans:
    """Reads over one ``Database``; counts its statements so the benchmark can report them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements = 0

    def of_passes(self, pass_ids: Sequence[str], start: int, end: int, limit: int) -> list[Scan]:
        """The scans of `pass_ids` in [start, end], at most `limit`."""
        found: list[Scan] = []
        for at in range(0, len(pass_ids), _PASS_CHUNK):
            chunk = list(pass_ids[at : at + _PASS_CHUNK])
            if len(found) >= limit:
                break
            marks = ", ".join("?" * len(chunk))
            sql = (
                f"SELECT {_COLUMNS} FROM events WHERE pass_id IN ({marks})"  # noqa: S608
                f" AND trusted_time BETWEEN ? AND ? AND {_SCANS} LIMIT ?"
            )
            found.extend(self._scans(sql, (*chunk, start, end, limit - len(found))))
        return found

    def at_checkpoints(self, windows: Sequence[tuple[str, int, int]], limit: int) -> list[Scan]:
        """The scans at each (checkpoint, start, end) window, at most `limit`."""
        if not windows:
            return []
        if self.db.kind == "postgresql":
            columns = [list(column) for column in zip(*windows, strict=True)]
            return self._scans(PG_WINDOWS, (*columns, limit))
        # SQLite is in-process: one indexed statement per window costs microseconds.
        found: list[Scan] = []
        for checkpoint, start, end in windows:
            if len(found) >= limit:
                break
            found.extend(self._scans(_ONE_WINDOW, (checkpoint, start, end, limit - len(found))))
        return found

    def _scans(self, sql: str, params: Sequence[object]) -> list[Scan]:
        self.statements += 1
        return [_scan(row) for row in self.db.query(sql, params)]


def _scan(row: Row) -> Scan:
    pass_id, checkpoint, device, trusted, clock = row
    return Scan(str(pass_id), str(checkpoint or ""), str(device), int(trusted), clock)
