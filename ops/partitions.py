"""PostgreSQL day partitions of ``events`` on trusted time: made ahead, on demand, and dropped."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

DAY_S = 86400
AHEAD_DAYS = 3  # partitions made ahead of today, so midnight never waits on DDL
# A trusted time further back than this (or NULL, or past the days made ahead)
# goes to events_default: a wrong clock must not create partitions without end.
BACK_DAYS = 400
_NAME = re.compile(r"^events_(\d{8})$")


def day_of(trusted_time: int) -> int:
    """The UTC day number (days since 1970-01-01) of a trusted time in seconds."""
    return trusted_time // DAY_S


def name_of(day: int) -> str:
    """The partition table name for a day number (days since 1970-01-01)."""
    return "events_" + (dt.date(1970, 1, 1) + dt.timedelta(days=day)).strftime("%Y%m%d")


def day_of_name(name: str) -> int | None:
    """The day number a partition table name stands for, None if it is not one."""
    match = _NAME.match(name)
    if match is None:
        return None
    date = dt.datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=dt.UTC).date()
    return (date - dt.date(1970, 1, 1)).days


def wanted(days: Iterable[int], now: float) -> set[int]:
    """Of the days some rows fall on, the ones that get a partition of their own."""
    today = day_of(int(now))
    return {day for day in days if today - BACK_DAYS <= day <= today + AHEAD_DAYS}


def existing(conn: Any) -> set[int]:
    """The day numbers that have a partition."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'events'::regclass"
    ).fetchall()
    return {day for (name,) in rows if (day := day_of_name(str(name))) is not None}


def create_day(conn: Any, day: int) -> None:
    """Make the partition for one day, moving in any of its rows events_default holds."""
    name = name_of(day)
    low, high = day * DAY_S, (day + 1) * DAY_S
    if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None:
        return
    spilled = conn.execute(
        "SELECT 1 FROM events_default WHERE trusted_time >= %s AND trusted_time < %s LIMIT 1",
        (low, high),
    ).fetchone()
    if spilled is None:
        conn.execute(f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ({low}) TO ({high})")
    else:
        # PostgreSQL refuses a new partition whose range rows in the default
        # partition already use: move them across, then attach.
        conn.execute(f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)")
        where = f"trusted_time >= {low} AND trusted_time < {high}"
        conn.execute(f"INSERT INTO {name} SELECT * FROM events_default WHERE {where}")  # noqa: S608
        conn.execute(f"DELETE FROM events_default WHERE {where}")  # noqa: S608
        conn.execute(
            f"ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})"
        )
    # Not the exactly-once mechanism (ops/eventlog.py is): a net that makes a
    # bug there fail loudly instead of storing an event twice in one day.
    conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_key ON {name} (device_id, store, seq)")
    log.info("created partition %s", name)


def ensure(conn: Any, days: set[int]) -> None:
    """Create the missing partitions among ``days`` (the caller holds the schema lock)."""
    for day in sorted(days - existing(conn)):
        create_day(conn, day)


def ahead(now: float) -> set[int]:
    """The days that should have a partition by `now`: today and the days ahead."""
    today = day_of(int(now))
    return set(range(today, today + AHEAD_DAYS + 1))


def drop_before(conn: Any, cutoff_day: int) -> list[str]:
    """Drop every day partition wholly before ``cutoff_day``; their names."""
    dropped = []
    for day in sorted(existing(conn)):
        if day < cutoff_day:
            name = name_of(day)
            conn.execute(f"ALTER TABLE events DETACH PARTITION {name}")
            conn.execute(f"DROP TABLE {name}")
            dropped.append(name)
    return dropped


def today(now: float | None = None) -> int:
    """Today's day number (at `now`, or the wall clock)."""
    return day_of(int(time.time() if now is None else now))
