"""The central database schema: one text for SQLite and PostgreSQL, column types swapped in."""

from __future__ import annotations

from collections.abc import Mapping

# Version 1 is the schema before quarantine, conflicts and partitions (no
# schema_version table); version 2 had plain trace indexes beside tracing's
# covering ones. ops/migrations.py upgrades both in place.
SCHEMA_VERSION = 3

SQLITE_TYPES = {
    "kind": "sqlite",
    "int": "INTEGER",
    "real": "REAL",
    "text": "TEXT",
    "blob": "BLOB",
    "id": "INTEGER PRIMARY KEY",
}
POSTGRES_TYPES = {
    "kind": "postgresql",
    "int": "BIGINT",
    "real": "DOUBLE PRECISION",
    "text": "TEXT",
    "blob": "BYTEA",
    "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}

# The columns of one logged event, in the order the store inserts them.
# trusted_time is whole seconds since the Unix epoch (the verifier's `now`,
# scanner/events.py), or NULL for rows without a verdict (shed ranges).
EVENT_COLUMNS = (
    "device_id",
    "store",
    "seq",
    "kind",
    "through",
    "checkpoint_id",
    "wall_time",
    "trusted_time",
    "clock",
    "outcome",
    "reason",
    "trust",
    "pass_id",
    "issuer_kid",
    "bundle_version",
    "revocation_serial",
    "decode_ms",
    "code",
    "detail",
    "stored_at",
)

_EVENT_BODY = """
    device_id {text} NOT NULL,
    store {text} NOT NULL,
    seq {int} NOT NULL,
    kind {text} NOT NULL,
    through {int},
    checkpoint_id {text},
    wall_time {real},
    trusted_time {int},
    clock {text},
    outcome {text},
    reason {text},
    trust {text},
    pass_id {text},
    issuer_kid {text},
    bundle_version {int},
    revocation_serial {int},
    decode_ms {real},
    code {text},
    detail {text},
    stored_at {real} NOT NULL"""

# SQLite: one plain table whose primary key is the exactly-once key.
_SQLITE_EVENTS = f"""CREATE TABLE IF NOT EXISTS events ({_EVENT_BODY},
    PRIMARY KEY (device_id, store, seq)
);"""

# PostgreSQL: range partitions by day of trusted_time (ops/partitions.py makes
# them). A partitioned table cannot have a unique key without the partition key,
# so exactly-once is kept by the per-stream row lock in ops/eventlog.py, and
# each partition carries its own unique (device_id, store, seq) index as a net.
_POSTGRES_EVENTS = f"""CREATE TABLE IF NOT EXISTS events ({_EVENT_BODY}
) PARTITION BY RANGE (trusted_time);
CREATE TABLE IF NOT EXISTS events_default PARTITION OF events DEFAULT;
CREATE UNIQUE INDEX IF NOT EXISTS events_default_key ON events_default (device_id, store, seq);"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    version {int} NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    device_id {text} PRIMARY KEY,
    public_key {text} NOT NULL,
    checkpoint_id {text} NOT NULL,
    label {text},
    enrolled_at {real} NOT NULL,
    state {text},
    session {int},
    state_rank {int},
    online_since {real},
    status_at {real},
    status_reason {text},
    software {text},
    last_seen {real},
    heartbeat {text},
    heartbeat_at {real}
);
{events}
{trace_indexes};
CREATE INDEX IF NOT EXISTS events_by_stored ON events (stored_at);
CREATE TABLE IF NOT EXISTS streams (
    device_id {text} NOT NULL,
    store {text} NOT NULL,
    contiguous {int} NOT NULL,
    highest {int} NOT NULL,
    missing {int} NOT NULL,
    updated_at {real} NOT NULL,
    PRIMARY KEY (device_id, store)
);
CREATE TABLE IF NOT EXISTS minutes (
    checkpoint_id {text} NOT NULL,
    device_id {text} NOT NULL,
    minute {int} NOT NULL,
    outcome {text} NOT NULL,
    reason {text} NOT NULL,
    n {int} NOT NULL,
    PRIMARY KEY (checkpoint_id, minute, device_id, outcome, reason)
);
CREATE INDEX IF NOT EXISTS minutes_by_device ON minutes (device_id, minute);
CREATE TABLE IF NOT EXISTS alerts (
    id {id},
    at {real} NOT NULL,
    device_id {text} NOT NULL,
    source {text} NOT NULL,
    code {text} NOT NULL,
    seq {int},
    detail {text}
);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (at);
CREATE TABLE IF NOT EXISTS refusals (
    reason {text} NOT NULL,
    device_id {text} NOT NULL,
    n {int} NOT NULL,
    first_at {real} NOT NULL,
    last_at {real} NOT NULL,
    PRIMARY KEY (reason, device_id)
);
CREATE TABLE IF NOT EXISTS quarantine (
    id {id},
    at {real} NOT NULL,
    reason {text} NOT NULL,
    device_id {text} NOT NULL,
    topic {text} NOT NULL,
    payload {blob} NOT NULL,
    properties {text} NOT NULL,
    replayed_at {real}
);
CREATE INDEX IF NOT EXISTS quarantine_by_device ON quarantine (device_id, replayed_at);
CREATE TABLE IF NOT EXISTS conflicts (
    id {id},
    at {real} NOT NULL,
    device_id {text} NOT NULL,
    store {text} NOT NULL,
    seq {int} NOT NULL,
    stored {text},
    received {text} NOT NULL
);
CREATE TABLE IF NOT EXISTS collector_counters (
    collector {text} NOT NULL,
    name {text} NOT NULL,
    n {int} NOT NULL,
    PRIMARY KEY (collector, name)
);
CREATE VIEW counters AS SELECT name, SUM(n) AS n FROM collector_counters GROUP BY name
"""


# Contacts are found on trusted_time (the verifier's clock, not the unit's wall
# clock, which a Pi without an RTC can get wrong by hours): one index per read
# of ops.contacts. Each also carries the columns those reads return, so they are
# answered from the index alone: at 20 million rows the heap fetches, one random
# page per scan, were most of the time of a depth-2 trace. PostgreSQL says so
# with INCLUDE, SQLite with extra key columns. They are the only indexes on
# those columns: every insert maintains each index of every row.
_TRACE_INDEXES = {
    "events_by_pass_trusted": ("pass_id, trusted_time", "kind, checkpoint_id, device_id, clock"),
    "events_by_checkpoint_trusted": (
        "checkpoint_id, trusted_time",
        "kind, pass_id, device_id, clock",
    ),
}
TRACE_INDEX_NAMES = tuple(_TRACE_INDEXES)
# Every secondary index of events (bulk loads drop and rebuild them).
EVENT_INDEX_NAMES = (*TRACE_INDEX_NAMES, "events_by_stored")


def trace_indexes(kind: str) -> list[str]:
    """The CREATE INDEX statements of the tracing reads, for this backend."""
    statements = []
    for name, (key, carried) in _TRACE_INDEXES.items():
        if kind == "postgresql":
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {name} ON events ({key}) INCLUDE ({carried})"
            )
        else:
            statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON events ({key}, {carried})")
    return statements


def schema(types: Mapping[str, str]) -> list[str]:
    """The CREATE statements with this backend's column types."""
    events = _POSTGRES_EVENTS if types["kind"] == "postgresql" else _SQLITE_EVENTS
    text = (
        _SCHEMA.replace("{events}", events.format(**types))
        .replace("{trace_indexes}", ";\n".join(trace_indexes(types["kind"])))
        .format(**types)
    )
    return [statement.strip() for statement in text.split(";") if statement.strip()]
