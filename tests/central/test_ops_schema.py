"""Schema versions, migrations, partitions and retention on both backends."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from support.ops import db_url, postgres_admin, postgres_url  # noqa: F401 - fixtures

from ops import cli, partitions, retention
from ops.db import Database, DatabaseError, open_database
from ops.ingest import Batch
from ops.store import Store

DAY = 86400
# The first schema (before versions), as the landed tree created it.
V1_SCHEMA = """
CREATE TABLE devices (device_id TEXT PRIMARY KEY, public_key TEXT NOT NULL,
 checkpoint_id TEXT NOT NULL, label TEXT, enrolled_at REAL NOT NULL, state TEXT,
 session BIGINT, state_rank BIGINT, online_since REAL, status_at REAL, status_reason TEXT,
 software TEXT, last_seen REAL, heartbeat TEXT, heartbeat_at REAL);
CREATE TABLE events (device_id TEXT NOT NULL, store TEXT NOT NULL, seq BIGINT NOT NULL,
 kind TEXT NOT NULL, through BIGINT, checkpoint_id TEXT, wall_time REAL, trusted_time BIGINT,
 clock TEXT, outcome TEXT, reason TEXT, trust TEXT, pass_id TEXT, issuer_kid TEXT,
 bundle_version BIGINT, revocation_serial BIGINT, decode_ms REAL, code TEXT, detail TEXT,
 stored_at REAL NOT NULL, PRIMARY KEY (device_id, store, seq));
CREATE INDEX events_by_pass ON events (pass_id, wall_time);
CREATE INDEX events_by_checkpoint ON events (checkpoint_id, wall_time);
CREATE INDEX events_by_stored ON events (stored_at);
CREATE TABLE streams (device_id TEXT NOT NULL, store TEXT NOT NULL, contiguous BIGINT NOT NULL,
 highest BIGINT NOT NULL, missing BIGINT NOT NULL, updated_at REAL NOT NULL,
 PRIMARY KEY (device_id, store));
CREATE TABLE minutes (checkpoint_id TEXT NOT NULL, device_id TEXT NOT NULL, minute BIGINT NOT NULL,
 outcome TEXT NOT NULL, reason TEXT NOT NULL, n BIGINT NOT NULL,
 PRIMARY KEY (checkpoint_id, minute, device_id, outcome, reason));
CREATE TABLE alerts (id BIGINT, at REAL NOT NULL, device_id TEXT NOT NULL, source TEXT NOT NULL,
 code TEXT NOT NULL, seq BIGINT, detail TEXT);
CREATE TABLE refusals (reason TEXT NOT NULL, device_id TEXT NOT NULL, n BIGINT NOT NULL,
 first_at REAL NOT NULL, last_at REAL NOT NULL, PRIMARY KEY (reason, device_id));
CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO counters VALUES ('stored', 2);
INSERT INTO events (device_id, store, seq, kind, trusted_time, pass_id, stored_at)
 VALUES ('cp-a', 's1', 1, 'scan', 1700000000, 'PX1', 1700000000),
        ('cp-a', 's1', 2, 'scan', 1700090000, 'PX2', 1700090000)
"""


def _make_v1(url: str) -> None:
    if url.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415

        conn = sqlite3.connect(url[len("sqlite:///") :])
        conn.executescript(V1_SCHEMA + ";")
        conn.commit()
        conn.close()
        return
    with psycopg.connect(url, autocommit=True) as pg:
        for statement in V1_SCHEMA.split(";"):
            pg.execute(statement)


def _row(seq: int, trusted_time: int | None) -> tuple[object, ...]:
    return ("cp-a", "s1", seq, "scan", None, "CP", time.time(), trusted_time, "synced",
            "accept", None, "fresh", f"PX{seq}", "k", 1, 1, 1.0, None, None)  # fmt: skip


def test_an_older_database_is_refused_until_migrated_then_keeps_its_events(
    db_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _make_v1(db_url)
    with pytest.raises(DatabaseError, match="checkpoint-ops migrate"):
        open_database(db_url)
    assert cli.main(["migrate", "--db", db_url]) == 0
    assert json.loads(capsys.readouterr().out) == {"from": 1, "to": 3, "changed": True}
    db = open_database(db_url)
    assert [r[0] for r in db.query("SELECT pass_id FROM events ORDER BY seq")] == ["PX1", "PX2"]
    assert Store(db).counters() == {"stored": 2}
    # The stream continues past the migrated rows, and a resent old event is a duplicate.
    result = Store(db).ingest(Batch("cp-a", "s1", (_row(3, int(time.time())),)), time.time())
    assert result.inserted == 1
    db.close()
    assert cli.main(["migrate", "--db", db_url]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False


def _event_indexes(db: Database) -> set[str]:
    if db.kind == "postgresql":  # the partitioned table's own indexes, not each day's copy
        rows = db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'events'")
    else:
        rows = db.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
        )
    return {str(name) for (name,) in rows if not str(name).startswith("sqlite_autoindex")}


def test_version_2_keeps_one_index_per_trace_read_after_migrating(
    db_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = open_database(db_url)
    now = time.time()
    Store(db).ingest(Batch("cp-a", "s1", (_row(1, int(now)),)), now)
    # Version 2 as it was once tracing had opened it: plain and covering indexes side by side.
    db.execute("CREATE INDEX events_by_pass ON events (pass_id, trusted_time)")
    db.execute("CREATE INDEX events_by_checkpoint ON events (checkpoint_id, trusted_time)")
    db.execute("UPDATE schema_version SET version = 2")
    db.close()
    with pytest.raises(DatabaseError, match="checkpoint-ops migrate"):
        open_database(db_url)
    assert cli.main(["migrate", "--db", db_url]) == 0
    assert json.loads(capsys.readouterr().out) == {"from": 2, "to": 3, "changed": True}
    db = open_database(db_url)
    assert _event_indexes(db) >= {"events_by_pass_trusted", "events_by_checkpoint_trusted"}
    assert not _event_indexes(db) & {"events_by_pass", "events_by_checkpoint"}
    assert [str(r[0]) for r in db.query("SELECT pass_id FROM events")] == ["PX1"]
    db.close()


def test_a_newer_database_is_refused_with_a_clear_error(db_url: str) -> None:  # noqa: F811
    db = open_database(db_url)
    db.execute("UPDATE schema_version SET version = 99")
    db.close()
    with pytest.raises(DatabaseError, match="newer than this checkpoint-ops"):
        open_database(db_url)


def test_events_land_in_day_partitions_and_retention_drops_whole_days(
    postgres_url: str,  # noqa: F811
) -> None:
    db = open_database(postgres_url)
    store = Store(db)
    now = time.time()
    today = partitions.day_of(int(now))
    rows = (_row(1, (today - 40) * DAY + 5), _row(2, (today - 1) * DAY), _row(3, None),
            _row(4, int(now)), _row(5, (today + 30) * DAY))  # fmt: skip
    assert store.ingest(Batch("cp-a", "s1", rows), now).inserted == 5
    where = dict(db.query("SELECT seq, tableoid::regclass::text FROM events"))
    assert where[1] == partitions.name_of(today - 40)
    assert where[2] == partitions.name_of(today - 1)
    assert where[3] == "events_default"  # no trusted time
    assert where[4] == partitions.name_of(today)
    assert where[5] == "events_default"  # a clock far ahead makes no partition
    report = retention.apply(db, 30, now)
    assert report["partitions_dropped"] == [partitions.name_of(today - 40)]
    assert sorted(int(r[0]) for r in db.query("SELECT seq FROM events")) == [2, 3, 4, 5]
    # The stream still knows event 1: sent again after retention it is not stored again.
    again = store.ingest(Batch("cp-a", "s1", (rows[0],)), now)
    assert again.inserted == 0
    # A day partition made later takes over the rows the default partition held.
    with db.transaction():
        partitions.create_day(db._db, today + 30)
    assert dict(db.query("SELECT seq, tableoid::regclass::text FROM events"))[5] == (
        partitions.name_of(today + 30)
    )
    db.close()


def test_sqlite_retention_deletes_old_rows(tmp_path: object) -> None:
    db = open_database(f"sqlite:///{tmp_path}/ops.db")
    now = time.time()
    Store(db).ingest(Batch("cp-a", "s1", (_row(1, int(now) - 40 * DAY), _row(2, int(now)))), now)
    assert retention.apply(db, 30, now)["rows_deleted"] == 1
    assert [int(r[0]) for r in db.query("SELECT seq FROM events")] == [2]
    db.close()
