"""The central database schema: one text for SQLite and PostgreSQL, column types swapped in."""

from __future__ import annotations

from collections.abc import Mapping

SQLITE_TYPES = {"int": "INTEGER", "real": "REAL", "text": "TEXT", "id": "INTEGER PRIMARY KEY"}
POSTGRES_TYPES = {
    "int": "BIGINT",
    "real": "DOUBLE PRECISION",
    "text": "TEXT",
    "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}

# The columns of one logged event, in the order the store inserts them.
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

_SCHEMA = """
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
CREATE TABLE IF NOT EXISTS events (
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
    stored_at {real} NOT NULL,
    PRIMARY KEY (device_id, store, seq)
);
CREATE INDEX IF NOT EXISTS events_by_pass ON events (pass_id, wall_time);
CREATE INDEX IF NOT EXISTS events_by_checkpoint ON events (checkpoint_id, wall_time);
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
CREATE TABLE IF NOT EXISTS counters (
    name {text} PRIMARY KEY,
    n {int} NOT NULL
)
"""


def schema(types: Mapping[str, str]) -> list[str]:
    """The CREATE statements with this backend's column types."""
    text = _SCHEMA.format(**types)
    return [statement.strip() for statement in text.split(";") if statement.strip()]
