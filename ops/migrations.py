"""Schema versions: a fresh database is created at the current one, older ones upgraded in place."""

from __future__ import annotations

import logging
from typing import Any

from ops.schema import (
    EVENT_COLUMNS,
    POSTGRES_TYPES,
    SCHEMA_VERSION,
    SQLITE_TYPES,
    schema,
    trace_indexes,
)

log = logging.getLogger(__name__)

# Taken by every collector, migration and retention run that changes tables,
# so several collectors starting at once on one PostgreSQL do not race.
SCHEMA_LOCK = 4242001


class SchemaError(Exception):
    """The database's schema version is not the one this code writes."""


def _has_table(conn: Any, kind: str, name: str) -> bool:
    if kind == "sqlite":
        rows = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", (name,)
        ).fetchall()
        return bool(rows)
    return conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None


def version(conn: Any, kind: str) -> int:
    """0 for an empty database, 1 for the unversioned first schema, else the stored number."""
    if _has_table(conn, kind, "schema_version"):
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    return 1 if _has_table(conn, kind, "events") else 0


def prepare(conn: Any, kind: str, *, upgrade: bool = False) -> int:
    """Create or check the schema inside the caller's transaction; returns the version found."""
    found = version(conn, kind)
    if found > SCHEMA_VERSION:
        raise SchemaError(
            f"the database has schema version {found}, newer than this checkpoint-ops "
            f"({SCHEMA_VERSION}): upgrade checkpoint-ops before using it"
        )
    if found == 0:
        for statement in schema(POSTGRES_TYPES if kind == "postgresql" else SQLITE_TYPES):
            conn.execute(statement)
        _set_version(conn, kind)
        return 0
    if found < SCHEMA_VERSION:
        if not upgrade:
            raise SchemaError(
                f"the database has schema version {found}, older than {SCHEMA_VERSION}: "
                "run `checkpoint-ops migrate --db URL` first"
            )
        for step in range(found, SCHEMA_VERSION):
            log.info("migrating the schema from version %d to %d", step, step + 1)
            _STEPS[step](conn, kind)
        conn.execute("DELETE FROM schema_version")
        _set_version(conn, kind)
    return found


def _set_version(conn: Any, kind: str) -> None:
    mark = "%s" if kind == "postgresql" else "?"
    statement = "INSERT INTO schema_version (version) VALUES (" + mark + ")"  # noqa: S608 - a placeholder only
    conn.execute(statement, (SCHEMA_VERSION,))


def _v1_to_v2(conn: Any, kind: str) -> None:
    """Quarantine, conflicts, per-collector counters, indexes on trusted_time, partitions."""
    types = POSTGRES_TYPES if kind == "postgresql" else SQLITE_TYPES
    for name in ("events_by_pass", "events_by_checkpoint", "events_by_stored"):
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    conn.execute("ALTER TABLE counters RENAME TO counters_v1")
    if kind == "postgresql":
        # A plain table cannot become partitioned: copy into the new one.
        conn.execute("ALTER TABLE events RENAME TO events_v1")
        conn.execute("ALTER TABLE events_v1 RENAME CONSTRAINT events_pkey TO events_v1_pkey")
    for statement in schema(types):
        conn.execute(statement)  # every CREATE is IF NOT EXISTS except the new view
    conn.execute(
        "INSERT INTO collector_counters (collector, name, n)"
        " SELECT 'schema-v1', name, n FROM counters_v1"
    )
    conn.execute("DROP TABLE counters_v1")
    if kind == "postgresql":
        from ops import partitions  # noqa: PLC0415 - PostgreSQL only

        days = conn.execute(
            "SELECT DISTINCT trusted_time / 86400 FROM events_v1 WHERE trusted_time IS NOT NULL"
        ).fetchall()
        for (day,) in days:
            partitions.create_day(conn, int(day))
        columns = ", ".join(EVENT_COLUMNS)
        conn.execute(f"INSERT INTO events ({columns}) SELECT {columns} FROM events_v1")  # noqa: S608
        conn.execute("DROP TABLE events_v1")


def _v2_to_v3(conn: Any, kind: str) -> None:
    """One index per trace read: the covering ones replace the plain ones on the same columns.

    Version 2 made (pass_id, trusted_time) and (checkpoint_id, trusted_time)
    indexes, and tracing added covering ones on the same keys, so every insert
    maintained both. The covering ones answer the same reads (and more) alone.
    On PostgreSQL each statement covers every day partition; on a large table
    building the covering index (when tracing never did) takes a while, under
    the schema lock that holds collectors back meanwhile.
    """
    for statement in trace_indexes(kind):
        conn.execute(statement)  # IF NOT EXISTS: already there where tracing ran
    for name in ("events_by_pass", "events_by_checkpoint"):
        conn.execute(f"DROP INDEX IF EXISTS {name}")


_STEPS = {1: _v1_to_v2, 2: _v2_to_v3}
