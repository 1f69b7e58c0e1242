"""What tracing adds to the central database: trusted-time indexes and the audit table.

Kept apart from ``ops.schema`` (the collector's) and created with IF NOT EXISTS
whenever the tracing side opens a database; the statements are listed so the
schema migrations can take them over.
"""

from __future__ import annotations

from ops.db import Database
from ops.schema import POSTGRES_TYPES, SQLITE_TYPES

# Contacts are found on trusted_time (the verifier's clock, not the unit's wall clock,
# which a Pi without an RTC can get wrong by hours): one index per read of ops.contacts.
# Each also carries the columns those reads return, so they are answered from the index
# alone: at 20 million rows the heap fetches, one random page per scan, were most of the
# time of a depth-2 trace. PostgreSQL says so with INCLUDE, SQLite with extra key columns.
_COVERED = {
    "events_by_pass_trusted": ("pass_id, trusted_time", "kind, checkpoint_id, device_id, clock"),
    "events_by_checkpoint_trusted": (
        "checkpoint_id, trusted_time",
        "kind, pass_id, device_id, clock",
    ),
}


def _index(name: str, kind: str) -> str:
    key, carried = _COVERED[name]
    if kind == "postgresql":
        return f"CREATE INDEX IF NOT EXISTS {name} ON events ({key}) INCLUDE ({carried})"
    return f"CREATE INDEX IF NOT EXISTS {name} ON events ({key}, {carried})"


INDEX_NAMES = ("events_by_pass_trusted", "events_by_checkpoint_trusted")
_AUDIT = (
    "CREATE TABLE IF NOT EXISTS audit (id {id}, at {real} NOT NULL, user_name {text} NOT NULL,"
    " role {text} NOT NULL, action {text} NOT NULL, query {text} NOT NULL,"
    " row_count {int} NOT NULL, cut {text}, client {text})",
    "CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at)",
)


def statements(kind: str) -> list[str]:
    """The statements that add tracing's indexes and audit table for a `kind` database."""
    types = POSTGRES_TYPES if kind == "postgresql" else SQLITE_TYPES
    indexes = [_index(name, kind) for name in INDEX_NAMES]
    return [*indexes, *(statement.format(**types) for statement in _AUDIT)]


def prepare(db: Database) -> None:
    """Create what tracing needs if it is not there (cheap when it is)."""
    with db.transaction():
        if db.kind == "postgresql":
            # Two dashboards starting at once would race on the same CREATE INDEX.
            db.query("SELECT pg_advisory_xact_lock(4242011)")
        for statement in statements(db.kind):
            db.execute(statement)
