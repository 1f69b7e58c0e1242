"""What tracing adds to the central database: the audit table.

Kept apart from ``ops.schema`` (the collector's) and created with IF NOT EXISTS
whenever the tracing side opens a database. The trusted-time indexes tracing
reads were made here too until schema version 3; they are the collector's
schema's own now (``ops.schema.trace_indexes``), so no insert maintains two
indexes over the same columns.
"""

from __future__ import annotations

from ops.db import Database
from ops.schema import POSTGRES_TYPES, SQLITE_TYPES

_AUDIT = (
    "CREATE TABLE IF NOT EXISTS audit (id {id}, at {real} NOT NULL, user_name {text} NOT NULL,"
    " role {text} NOT NULL, action {text} NOT NULL, query {text} NOT NULL,"
    " row_count {int} NOT NULL, cut {text}, client {text})",
    "CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at)",
)


def statements(kind: str) -> list[str]:
    """The statements that add tracing's indexes and audit table for a `kind` database."""
    types = POSTGRES_TYPES if kind == "postgresql" else SQLITE_TYPES
    return [statement.format(**types) for statement in _AUDIT]


def prepare(db: Database) -> None:
    """Create what tracing needs if it is not there (cheap when it is)."""
    with db.transaction():
        if db.kind == "postgresql":
            # Two dashboards starting at once would race on the same CREATE.
            db.query("SELECT pg_advisory_xact_lock(4242011)")
        for statement in statements(db.kind):
            db.execute(statement)
