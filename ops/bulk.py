"""Many rows in one statement: SQLite's executemany, or one PostgreSQL statement over JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ops.db import Database, Params


def write_many(
    db: Database, sql: str, rows: Sequence[Params], *, postgres: str | None = None
) -> None:
    """Run ``sql`` once per row, or on PostgreSQL one ``postgres`` statement over all rows.

    SQLite's executemany is a C loop. On PostgreSQL the rows travel in one JSON
    parameter (``json_rows``): one round trip and, on this side, one
    ``json.dumps`` in C, where psycopg's executemany costs about 100 us a row
    here and column arrays (``unnest(?::text[], ...)``) about 1 us an element,
    dumped in Python.
    """
    if not rows:
        return
    if db.kind == "postgresql" and postgres is not None:
        db.execute(postgres, (json.dumps(rows, separators=(",", ":")),))
    else:
        db.executemany(sql, rows)


@dataclass(frozen=True, slots=True)
class Write:
    """A ``write_many`` kept for later, so several can share one statement."""

    sql: str  # SQLite: once per row
    rows: Sequence[Params]
    postgres: str  # PostgreSQL: one statement over ``json_rows``, its one parameter


def write_together(db: Database, writes: Sequence[Write]) -> None:
    """Several ``write_many``; on PostgreSQL one statement, each write a part of its WITH.

    One round trip and one statement to parse and plan instead of one each:
    with a group of a few live messages those per-statement costs, on both
    sides, were most of the group's. Every part runs exactly once, and the
    parts must write different rows (PostgreSQL gives parts that touch the
    same row no order).
    """
    live = [write for write in writes if write.rows]
    if db.kind != "postgresql" or len(live) < 2:
        for write in live:
            write_many(db, write.sql, write.rows, postgres=write.postgres)
        return
    parts = ", ".join(f"w{i} AS ({write.postgres})" for i, write in enumerate(live))
    params = [json.dumps(write.rows, separators=(",", ":")) for write in live]
    db.execute(f"WITH {parts} SELECT 1", params)


def json_rows(*columns: str) -> str:
    """A FROM item over the one ``?::jsonb`` parameter ``write_many`` sends.

    ``columns`` are ``"name type"`` in row order: ``json_rows("d text", "n bigint")``.
    Every value is text, bigint or float8, for which ``->>`` then a cast is exact:
    Python writes a float's shortest round-trip digits, and PostgreSQL reads them back.
    """
    fields = ", ".join(
        f"(r->>{i})::{kind} AS {name}"
        for i, (name, kind) in enumerate(column.split() for column in columns)
    )
    return f"(SELECT {fields} FROM jsonb_array_elements(?::jsonb) AS j(r))"  # noqa: S608
