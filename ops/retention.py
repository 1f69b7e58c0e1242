"""``checkpoint-ops retention``: events past N days go, as whole partitions on PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ops import partitions
from ops.db import Database, DatabaseError, PostgresDatabase, open_database
from scanner.cli.kit import CommandError, command, parser, print_json

log = logging.getLogger(__name__)

# Contact tracing looks back 14 days; twice that and a little leaves room for
# late questions without keeping events for ever.
DEFAULT_KEEP_DAYS = 30
_HOUR_S = 3600.0


def apply(db: Database, keep_days: int, now: float | None = None) -> dict[str, Any]:
    """Delete what is older than ``keep_days`` whole days; what was removed.

    The cut is at a UTC midnight so a day partition goes whole. Unreplayed
    quarantine entries and conflicts stay: someone has to look at them.
    """
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    now = time.time() if now is None else now
    cutoff_day = partitions.day_of(int(now)) - keep_days
    cutoff = cutoff_day * partitions.DAY_S
    dropped: list[str] = []
    if isinstance(db, PostgresDatabase):
        dropped = db.drop_days_before(cutoff_day)
        table = "events_default"  # NULL or implausible trusted times
    else:
        table = "events"
    with db.transaction():
        deleted = db.execute(
            f"DELETE FROM {table} WHERE trusted_time < ?"  # noqa: S608 - one of two names
            " OR (trusted_time IS NULL AND stored_at < ?)",
            (cutoff, cutoff),
        )
        db.execute("DELETE FROM minutes WHERE minute < ?", (cutoff // 60,))
        db.execute("DELETE FROM alerts WHERE at < ?", (cutoff,))
        db.execute("DELETE FROM quarantine WHERE replayed_at < ?", (cutoff,))
    return {
        "keep_days": keep_days,
        "before": cutoff,
        "partitions_dropped": dropped,
        "rows_deleted": deleted,
    }


class Upkeep(threading.Thread):
    """In the collector: partitions made ahead every hour, retention once a day (if configured)."""

    def __init__(self, db_url: str, keep_days: int | None, stop: threading.Event) -> None:
        super().__init__(name="ops-upkeep", daemon=True)
        self._url = db_url
        self._keep_days = keep_days
        self._stop = stop

    def run(self) -> None:
        """Make partitions ahead hourly and apply retention daily, until stopped."""
        last_retention = 0.0
        while True:
            try:
                db = open_database(self._url)
                try:
                    db.ensure_partitions([int(time.time()) + d * 86400 for d in range(4)])
                    if self._keep_days and time.time() - last_retention >= 24 * _HOUR_S:
                        log.info("retention: %s", apply(db, self._keep_days))
                        last_retention = time.time()
                finally:
                    db.close()
            except Exception:
                log.exception("upkeep failed; trying again in an hour")
            if self._stop.wait(_HOUR_S):
                return


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops retention`: delete events older than N days."""
    p = parser("checkpoint-ops retention", "Delete events older than N days.")
    p.add_argument("--db", required=True, help="sqlite:///ops.db or postgresql://...")
    p.add_argument("--keep-days", type=int, default=DEFAULT_KEEP_DAYS, metavar="N")
    args = p.parse_args(argv)
    if args.keep_days < 1:
        raise CommandError("--keep-days must be at least 1")
    try:
        db = open_database(args.db)
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    try:
        print_json(apply(db, args.keep_days))
    finally:
        db.close()
    return 0
