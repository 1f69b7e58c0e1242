"""The audit of tracing: who asked which question when, and how many rows it returned."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ops import trace_schema
from ops.db import Database, DatabaseError, open_database
from ops.times import DEFAULT_ZONE, TimeFormatError, format_time, zone
from scanner.cli.kit import CommandError, command, echo, parser, print_json

AUDIT_KEYS = ("id", "at", "user_name", "role", "action", "query", "row_count", "cut", "client")


@dataclass(frozen=True, slots=True)
class Auditor:
    """Writes one row per tracing request; a request whose audit cannot be written fails."""

    db: Database

    def record(
        self,
        *,
        user: str,
        role: str,
        action: str,
        query: dict[str, Any],
        rows: int,
        cut: str | None = None,
        client: str | None = None,
        at: float | None = None,
    ) -> None:
        """Write one audit row for a tracing request; raises if it cannot be written."""
        self.db.execute(
            "INSERT INTO audit (at, user_name, role, action, query, row_count, cut, client)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time.time() if at is None else at,
                user,
                role,
                action,
                json.dumps(query, ensure_ascii=False, sort_keys=True),
                rows,
                cut,
                client,
            ),
        )

    def entries(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest entries first, each query decoded back into a document."""
        found = self.db.query(
            "SELECT id, at, user_name, role, action, query, row_count, cut, client FROM audit"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        entries = []
        for row in found:
            entry = dict(zip(AUDIT_KEYS, row, strict=True))
            entry["query"] = json.loads(entry["query"])
            entries.append(entry)
        return entries


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops audit`: the latest tracing requests."""
    p = parser("checkpoint-ops audit", "Who ran which trace, when, and how many rows it returned.")
    p.add_argument("--db", required=True, help="sqlite:///ops.db or postgresql://...")
    p.add_argument("--limit", type=int, default=200, help="the latest N entries (default 200)")
    p.add_argument("--zone", default=None, help="show times in this IANA zone")
    p.add_argument("--json", action="store_true", help="one JSON document")
    args = p.parse_args(argv)
    try:
        tz = zone(args.zone or DEFAULT_ZONE)
        db = open_database(args.db)
        trace_schema.prepare(db)
    except (DatabaseError, TimeFormatError) as exc:
        raise CommandError(str(exc)) from None
    entries = Auditor(db).entries(max(1, args.limit))
    db.close()
    for entry in entries:
        entry["at"] = format_time(entry["at"], tz)
    if args.json:
        print_json({"entries": entries})
        return 0
    for e in entries:
        echo(
            f"{e['at']}  {e['user_name']} ({e['role']})  {e['action']}  rows={e['row_count']}"
            f"{'  cut' if e['cut'] else ''}  {json.dumps(e['query'], ensure_ascii=False)}"
        )
    return 0
