"""The one small database interface the central side uses, with SQLite and PostgreSQL backends."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ops import migrations, partitions

Row = tuple[Any, ...]
Params = Sequence[Any]


class DatabaseError(Exception):
    """The database could not be opened or a statement failed in a way the caller must see."""


class Database(Protocol):
    """What the store and the views need: statements with ``?`` placeholders, in transactions.

    Every method takes the object's lock, so one instance may be shared by threads;
    ``transaction`` holds it for the whole block.
    """

    kind: str

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        """The rows a statement returns."""

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the rows it changed."""

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each row of parameters."""

    def transaction(self) -> Any:
        """A context manager: one transaction, holding the connection for the block."""

    def ensure_partitions(self, trusted_times: Sequence[int]) -> None:
        """Make sure the day partitions holding these trusted times exist (PostgreSQL only)."""

    def close(self) -> None:
        """Close the connection."""


class _Shared:
    """What both backends share: one lock, and transactions that nest by counting.

    Only the outermost `transaction` opens and ends a real one (`_outermost`); an
    inner one joins it, so store methods can call each other inside a batch.
    """

    _db: Any

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0

    def _outermost(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self._outermost():
                    yield
            finally:
                self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()


class SqliteDatabase(_Shared):
    """SQLite in WAL mode: readers (the dashboard) never wait for the collector's writes."""

    kind = "sqlite"

    def __init__(self, path: Path, *, upgrade: bool = False) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: the collector PUBACKs right after COMMIT, so a commit that a
        # power cut could undo (WAL with NORMAL) would be lost for good. One
        # fsync per group of up to 200 messages is cheap.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        try:
            with self.transaction():
                self.schema_found = migrations.prepare(self._db, self.kind, upgrade=upgrade)
        except migrations.SchemaError as exc:
            self._db.close()
            raise DatabaseError(str(exc)) from None

    def ensure_partitions(self, trusted_times: Sequence[int]) -> None:
        """SQLite keeps one plain table."""

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        """The rows a statement returns."""
        with self._lock:
            return list(self._db.execute(sql, tuple(params)).fetchall())

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the rows it changed."""
        with self._lock:
            return int(self._db.execute(sql, tuple(params)).rowcount)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each row of parameters."""
        with self._lock:
            self._db.executemany(sql, rows)

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


class PostgresDatabase(_Shared):
    """PostgreSQL through psycopg 3; the same statements with ``?`` turned into ``%s``."""

    kind = "postgresql"

    def __init__(self, dsn: str, *, upgrade: bool = False) -> None:
        import psycopg  # noqa: PLC0415 - only needed when a PostgreSQL DSN is given

        super().__init__()
        self._psycopg = psycopg
        self._dsn = dsn
        self._days: set[int] = set()
        self._db = self._connect()
        try:
            with self.transaction():
                # Several collectors may start at once on one database.
                self._db.execute(f"SELECT pg_advisory_xact_lock({migrations.SCHEMA_LOCK})")
                self.schema_found = migrations.prepare(self._db, self.kind, upgrade=upgrade)
                partitions.ensure(self._db, partitions.ahead(time.time()))
        except migrations.SchemaError as exc:
            self._db.close()
            raise DatabaseError(str(exc)) from None

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
        except self._psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to PostgreSQL: {exc}") from None

    def _live(self) -> Any:
        """The connection, opened again if the server dropped it (a restart, a failover)."""
        if self._db.closed or self._db.broken:
            self._db = self._connect()
        return self._db

    def ensure_partitions(self, trusted_times: Sequence[int]) -> None:
        """Make the day partitions these rows need, in a short transaction of its own.

        Outside the writer's transaction: creating a partition locks the parent
        table, which must not wait behind (or deadlock with) another collector's
        open group.
        """
        days = partitions.wanted({partitions.day_of(t) for t in trusted_times}, time.time())
        missing = days - self._days
        if not missing:
            return
        with self.transaction():
            self._db.execute(f"SELECT pg_advisory_xact_lock({migrations.SCHEMA_LOCK})")
            partitions.ensure(self._db, missing)
        self._days |= missing

    @staticmethod
    def _sql(sql: str) -> str:
        # Every statement of this package uses ? placeholders and no literal ? or %.
        return sql.replace("?", "%s")

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        """The rows a statement returns."""
        with self._lock:
            return list(self._live().execute(self._sql(sql), tuple(params)).fetchall())

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the rows it changed."""
        with self._lock:
            return int(self._live().execute(self._sql(sql), tuple(params)).rowcount)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each row of parameters."""
        # psycopg 3 sends these in pipeline mode: one round trip for all rows.
        with self._lock, self._live().cursor() as cursor:
            cursor.executemany(self._sql(sql), rows)

    def _outermost(self) -> AbstractContextManager[Any]:
        return self._live().transaction()  # type: ignore[no-any-return]

    def drop_days_before(self, day: int) -> list[str]:
        """Drop the day partitions wholly before ``day`` (retention); their names."""
        with self.transaction():
            self._db.execute(f"SELECT pg_advisory_xact_lock({migrations.SCHEMA_LOCK})")
            dropped = partitions.drop_before(self._db, day)
        self._days = {d for d in self._days if d >= day}
        return dropped

    def copy_rows(self, table: str, columns: Sequence[str], rows: Any) -> None:
        """COPY rows in (bulk loads for the tracing benchmark)."""
        with self._lock, self._db.cursor() as cursor:
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)


def is_transient(exc: BaseException) -> bool:
    """A fault of the database or of this program, not of the data: try again, do not quarantine.

    Down, locked, deadlocked, or a statement the server does not understand (a
    bug, or a schema changed under us): quarantining every message for that
    would turn one fault into a flood of replays, so those hold the group.
    """
    if isinstance(exc, sqlite3.OperationalError | sqlite3.ProgrammingError | DatabaseError):
        return True
    try:
        import psycopg  # noqa: PLC0415
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(
        exc, psycopg.OperationalError | psycopg.InterfaceError | psycopg.ProgrammingError
    )


def open_database(url: str, *, upgrade: bool = False) -> SqliteDatabase | PostgresDatabase:
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or a ``postgresql://`` DSN."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw = url[len("sqlite://") :]
        if not raw.startswith("/") or raw == "/":
            raise DatabaseError(f"database URL {url!r}: expected sqlite:///path")
        # sqlite:///ops.db is relative, sqlite:////var/lib/ops.db absolute (as SQLAlchemy).
        path = Path(raw[1:])
        try:
            return SqliteDatabase(path, upgrade=upgrade)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open {path}: {exc}") from None
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url, upgrade=upgrade)
    raise DatabaseError(f"database URL {url!r}: scheme must be sqlite or postgresql")
