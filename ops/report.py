"""Tracing answers as tracers read them: local ISO 8601 times, ``15m`` gaps, formula-safe CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import tzinfo
from typing import Any, TextIO

from ops.contacts import Answer, Contact, Query
from ops.times import format_duration, format_time
from ops.views import TRACE_COLUMNS

EVENT_COLUMNS = TRACE_COLUMNS
CONTACT_COLUMNS = (
    "level",
    "pass_id",
    "via",
    "checkpoint_id",
    "via_time",
    "contact_time",
    "gap",
    "same_unit",
    "copresences",
    "uncertain",
    "first_contact",
)
_TIMES = frozenset({"trusted_time", "wall_time", "via_time", "contact_time", "first_contact"})


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a pass ID is attacker-chosen text)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else text


def event_row(row: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    """A stored event with its times in ``tz``; the unit's own wall time is kept for comparison."""
    return {
        column: format_time(row[column], tz) if column in _TIMES else row[column]
        for column in EVENT_COLUMNS
    }


def contact_row(contact: Contact, tz: tzinfo) -> dict[str, Any]:
    """A contact as a row of the report, in the zone `tz`."""
    return {
        "level": contact.level,
        "pass_id": contact.pass_id,
        "via": contact.via,
        "checkpoint_id": contact.checkpoint_id,
        "via_time": format_time(contact.via_time, tz),
        "contact_time": format_time(contact.contact_time, tz),
        "gap": format_duration(contact.gap_s),
        "gap_s": contact.gap_s,
        "same_unit": contact.same_unit,
        "copresences": contact.copresences,
        "uncertain": contact.uncertain,
        "first_contact": format_time(contact.first_contact, tz),
    }


def query_document(query: Query, tz: tzinfo) -> dict[str, Any]:
    """A query as the report states it, in the zone `tz`."""
    return {
        "cases": list(query.cases),
        "from": format_time(query.start, tz),
        "to": format_time(query.end, tz),
        "window": format_duration(query.window_s),
        "depth": query.depth,
    }


def contacts_document(query: Query, answer: Answer, tz: tzinfo) -> dict[str, Any]:
    """The whole answer as one JSON document: one entry per contact, and whether it was cut."""
    return {
        "query": query_document(query, tz),
        "cut": answer.cut,
        "case_scans": answer.case_scans,
        "counts": {
            f"F{level}": sum(1 for c in answer.contacts if c.level == level)
            for level in range(1, query.depth + 1)
        },
        "contacts": [contact_row(contact, tz) for contact in answer.contacts],
    }


def write_csv(
    out: TextIO, columns: Sequence[str], rows: Iterable[Mapping[str, Any]], cut: str | None
) -> None:
    """Header, rows, and a last row saying the answer was cut when it was."""
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(_csv_value(row[column])) for column in columns])
    if cut:
        writer.writerow(["# cut", safe_cell(cut)])


def _csv_value(value: object) -> object:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value
