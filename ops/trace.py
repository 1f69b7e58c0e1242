"""``checkpoint-ops trace``: the two tracing questions on the command line, as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
import sys

from ops.db import DatabaseError, open_database
from ops.views import TRACE_COLUMNS, Views
from scanner.cli.kit import CommandError, command, parse_instant, parser


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a pass ID is attacker-chosen text)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@command
def main(argv: list[str]) -> int:
    p = parser("checkpoint-ops trace", "Where a pass was seen, or who passed a checkpoint.")
    p.add_argument("--db", required=True)
    p.add_argument("--csv", action="store_true", help="CSV instead of JSON lines")
    sub = p.add_subparsers(dest="question", required=True)
    by_pass = sub.add_parser("pass", help="where and when was this pass seen")
    by_pass.add_argument("pass_id")
    by_checkpoint = sub.add_parser("checkpoint", help="what went through C between two times")
    by_checkpoint.add_argument("checkpoint_id")
    by_checkpoint.add_argument("--from", dest="start", required=True, help="ISO 8601 with zone")
    by_checkpoint.add_argument("--to", dest="end", required=True, help="ISO 8601 with zone")
    args = p.parse_args(argv)
    try:
        views = Views(open_database(args.db))
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    if args.question == "pass":
        rows = views.trace_pass(args.pass_id)
    else:
        start, end = parse_instant(args.start), parse_instant(args.end)
        rows = views.trace_checkpoint(args.checkpoint_id, start, end)
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(TRACE_COLUMNS)
        for row in rows:
            writer.writerow([safe_cell(row[c]) for c in TRACE_COLUMNS])
    else:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    return 0
