"""Disk taken per stored event: the figure capacity planning needs (docs/ops-scaling.md)."""

from __future__ import annotations

from typing import Any

from ops.db import Database


def per_event(db: Database) -> dict[str, Any]:
    """Table and index bytes per row of ``events``, over every partition (PostgreSQL).

    SQLite keeps no per-table size without the optional dbstat table, so there
    it is the whole file's pages per row: an upper bound.
    """
    rows = int(db.query("SELECT COUNT(*) FROM events")[0][0])
    if rows == 0:
        return {"rows": 0}
    if db.kind == "postgresql":
        heap, indexes = (
            int(v)
            for v in db.query(
                "SELECT COALESCE(SUM(pg_table_size(inhrelid)), 0),"
                " COALESCE(SUM(pg_indexes_size(inhrelid)), 0)"
                " FROM pg_inherits WHERE inhparent = 'events'::regclass"
            )[0]
        )
        return {
            "rows": rows,
            "table_bytes_per_event": round(heap / rows),
            "index_bytes_per_event": round(indexes / rows),
            "total_bytes_per_event": round((heap + indexes) / rows),
        }
    pages = int(db.query("PRAGMA page_count")[0][0]) * int(db.query("PRAGMA page_size")[0][0])
    return {"rows": rows, "file_bytes_per_event": round(pages / rows)}
