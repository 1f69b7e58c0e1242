"""``checkpoint-ops trace``: a pass's scans, a checkpoint's passes, and a case's contacts."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from ops import trace_schema
from ops.audit import Auditor
from ops.contacts import DEFAULT_DEPTH, MAX_DEPTH, Answer, Query
from ops.db import DatabaseError, open_database
from ops.report import (
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    contact_row,
    contacts_document,
    event_row,
    query_document,
    write_csv,
)
from ops.times import DEFAULT_ZONE, TimeFormatError, format_time, parse_duration, parse_time, zone
from ops.views import TRACE_LIMIT, Views
from scanner.cli.kit import CommandError, command, echo, parser, print_json

_FORMAT = {"csv": "CSV", "json": "one JSON document"}


def _formats(p: argparse.ArgumentParser, default: Any) -> None:
    for name, text in _FORMAT.items():
        p.add_argument(f"--{name}", action="store_true", default=default, help=text)


def _parser() -> argparse.ArgumentParser:
    p = parser("checkpoint-ops trace", "Where a pass was seen, who passed a checkpoint, contacts.")
    p.add_argument("--db", required=True)
    p.add_argument(
        "--zone", default=DEFAULT_ZONE, help=f"times in and out (default {DEFAULT_ZONE})"
    )
    _formats(p, False)
    sub = p.add_subparsers(dest="question", required=True)
    by_pass = sub.add_parser("pass", help="where and when was this pass seen")
    by_pass.add_argument("pass_id")
    by_checkpoint = sub.add_parser("checkpoint", help="what went through C between two times")
    by_checkpoint.add_argument("checkpoint_id")
    contacts = sub.add_parser("contacts", help="F1 and F2 contacts of one or more cases (F0)")
    contacts.add_argument("--case", action="append", required=True, metavar="PASS_ID")
    contacts.add_argument("--window", default="15m", help="co-presence window, e.g. 90s, 15m")
    contacts.add_argument(
        "--depth", type=int, default=DEFAULT_DEPTH, choices=range(1, MAX_DEPTH + 1)
    )
    for one in (by_checkpoint, contacts):
        one.add_argument("--from", dest="start", required=True, help="ISO 8601; no offset: --zone")
        one.add_argument("--to", dest="end", required=True, help="ISO 8601; no offset: --zone")
    for one in (by_pass, by_checkpoint, contacts):
        # Also after the question (argparse.SUPPRESS: only when given, never a default).
        _formats(one, argparse.SUPPRESS)
    return p


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops trace`; a closed pipe (| head) ends it quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # `trace ... | head`: the reader has what it wanted (Python's documented recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.csv and args.json:
        raise CommandError("give --csv or --json, not both")
    try:
        tz = zone(args.zone)
        db = open_database(args.db)
        trace_schema.prepare(db)
        if args.question == "contacts":
            query = Query(
                tuple(dict.fromkeys(args.case)),
                parse_time(args.start, tz),
                parse_time(args.end, tz),
                parse_duration(args.window),
                args.depth,
            )
        elif args.question == "checkpoint":
            start, end = parse_time(args.start, tz), parse_time(args.end, tz)
    except (DatabaseError, TimeFormatError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    views = Views(db)
    auditor = Auditor(db)
    # Traces from the command line are audited too, under the operating-system account.
    user, role, client = getpass.getuser(), "cli", "checkpoint-ops trace"
    if args.question == "contacts":
        answer = views.contacts(query)
        auditor.record(
            action="contacts",
            query=query_document(query, tz),
            rows=len(answer.contacts),
            cut=answer.cut,
            user=user,
            role=role,
            client=client,
        )
        _print_contacts(args, query, answer, tz)
        return 0
    if args.question == "pass":
        rows = views.trace_pass(args.pass_id)
        asked: dict[str, Any] = {"pass_id": args.pass_id}
    else:
        rows = views.trace_checkpoint(args.checkpoint_id, start, end)
        asked = {"checkpoint_id": args.checkpoint_id, "from": format_time(start, tz),
                 "to": format_time(end, tz)}  # fmt: skip
    cut = f"the first {TRACE_LIMIT} events are shown" if len(rows) >= TRACE_LIMIT else None
    auditor.record(
        action=args.question,
        query=asked,
        rows=len(rows),
        cut=cut,
        user=user,
        role=role,
        client=client,
    )
    shown = [event_row(row, tz) for row in rows]
    if args.csv:
        write_csv(sys.stdout, EVENT_COLUMNS, shown, cut)
    elif args.json:
        print_json({"query": asked, "cut": cut, "events": shown})
    else:
        for row in shown:
            echo(json.dumps(row, ensure_ascii=False))
    if cut:
        echo(f"note: answer cut: {cut}", err=True)
    return 0


def _print_contacts(args: argparse.Namespace, query: Query, answer: Answer, tz: Any) -> None:
    if args.csv:
        rows = [contact_row(contact, tz) for contact in answer.contacts]
        write_csv(sys.stdout, CONTACT_COLUMNS, rows, answer.cut)
    elif args.json:
        print_json(contacts_document(query, answer, tz))
    else:
        document = contacts_document(query, answer, tz)
        counts = ", ".join(f"{k}: {v}" for k, v in document["counts"].items())
        cases = ", ".join(f"{k} ({v} scans)" for k, v in document["case_scans"].items())
        echo(f"case {cases} in the window; {counts}")
        for c in document["contacts"]:
            flags = " uncertain clock" if c["uncertain"] else ""
            echo(
                f"F{c['level']} {c['pass_id']} via {c['via']} at {c['checkpoint_id']}"
                f" {c['contact_time']} (gap {c['gap']}, {c['copresences']}x,"
                f" {'same lane' if c['same_unit'] else 'other lane'}){flags}"
            )
    if answer.cut:
        echo(f"note: answer cut: {answer.cut}", err=True)
