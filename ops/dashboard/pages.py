"""The dashboard's HTML pages and CSV exports; every value from the database is escaped here."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from html import escape
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from ops.report import safe_cell
from ops.views import TRACE_COLUMNS, TRACE_LIMIT, Views

TRACE_ROUTES = frozenset(
    {"/trace/pass", "/trace/pass.csv", "/trace/checkpoint", "/trace/checkpoint.csv"}
)
_NAV = (
    '<nav><a href="/">Fleet</a> <a href="/trace/pass">Trace a pass</a>'
    ' <a href="/trace/checkpoint">Trace a checkpoint</a>'
    ' <form method="post" action="/logout" class="inline"><button>Log out</button></form></nav>'
)


def _page(title: str, body: str, *, script: bool = False) -> str:
    tag = '<script src="/static/app.js" defer></script>' if script else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/static/style.css">'
        f"{tag}</head><body>{body}</body></html>"
    )


def login(*, failed: bool = False) -> str:
    note = '<p class="bad" id="login-failed">Wrong token.</p>' if failed else ""
    return _page(
        "Checkpoint ops: log in",
        "<main class=login><h1>Checkpoint ops</h1>"
        f'{note}<form method="post" action="/login">'
        '<label>Access token <input type="password" name="token" id="token" autofocus></label>'
        '<button type="submit" id="login">Log in</button></form></main>',
    )


def not_found() -> str:
    return _page("Not found", f"{_NAV}<main><h1>Not found</h1></main>")


def index() -> str:
    """The live page: empty tables that app.js fills from the event stream."""
    return _page(
        "Checkpoint fleet",
        f"{_NAV}<main><h1>Checkpoint fleet <span id=live class=muted>connecting…</span></h1>"
        '<p id="counters" class="muted"></p>'
        "<table id=fleet><thead><tr><th>Device</th><th>Checkpoint</th><th>State</th>"
        "<th>Last seen</th><th>Trust</th><th>Revocations</th><th>Clock</th><th>Outbox</th>"
        "<th>Oldest unsent</th><th>fps</th><th>Decode p95</th><th>Accepted 1 h</th>"
        "<th>Rejected 1 h</th></tr></thead><tbody></tbody></table>"
        "<h2>Alerts</h2><table id=alerts><thead><tr><th>Time</th><th>Device</th><th>Source</th>"
        "<th>What</th><th>Detail</th></tr></thead><tbody></tbody></table>"
        "<h2>Per checkpoint, last hour</h2><div id=charts></div>"
        "<h2>Latest events</h2><table id=recent><thead><tr><th>Stored</th><th>Device</th>"
        "<th>Checkpoint</th><th>Seq</th><th>Kind</th><th>Outcome</th><th>Reason</th></tr>"
        "</thead><tbody></tbody></table></main>",
        script=True,
    )


def trace(path: str, query: dict[str, str], views: Views) -> tuple[int, bytes, str]:
    """A tracing page (form and table) or its CSV export."""
    by_pass = path.startswith("/trace/pass")
    error = ""
    rows: list[dict[str, Any]] | None = None
    if by_pass:
        pass_id = query.get("pass_id", "").strip()
        if pass_id:
            rows = views.trace_pass(pass_id[:200])
    else:
        checkpoint = query.get("checkpoint", "").strip()
        start, end = _instant(query.get("from", "")), _instant(query.get("to", ""))
        if checkpoint and start is not None and end is not None:
            rows = views.trace_checkpoint(checkpoint[:200], start, end)
        elif checkpoint:
            error = "Give both times, e.g. 2026-11-26T17:00 (UTC)."
    if path.endswith(".csv"):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(TRACE_COLUMNS)
        for row in rows or []:
            writer.writerow([safe_cell(_cell(c, row[c])) for c in TRACE_COLUMNS])
        return HTTPStatus.OK, out.getvalue().encode(), "text/csv; charset=utf-8"
    form = _pass_form(query) if by_pass else _checkpoint_form(query)
    body = f"{_NAV}<main>{form}"
    if error:
        body += f'<p class="bad">{escape(error)}</p>'
    if rows is not None:
        body += _table(rows, path, query)
    title = "Trace a pass" if by_pass else "Trace a checkpoint"
    page = _page(title, body + "</main>")
    return HTTPStatus.OK, page.encode(), "text/html; charset=utf-8"


def _pass_form(query: dict[str, str]) -> str:
    value = escape(query.get("pass_id", ""), quote=True)
    return (
        "<h1>Where and when was a pass seen</h1>"
        '<form method="get" action="/trace/pass"><label>Pass ID '
        f'<input name="pass_id" id="pass_id" value="{value}"></label>'
        '<button type="submit">Trace</button></form>'
    )


def _checkpoint_form(query: dict[str, str]) -> str:
    fields = "".join(
        f'<label>{label} <input name="{name}" id="{name}" '
        f'value="{escape(query.get(name, ""), quote=True)}"></label> '
        for name, label in (("checkpoint", "Checkpoint"), ("from", "From (UTC)"), ("to", "To"))
    )
    return (
        "<h1>Which passes went through a checkpoint</h1>"
        f'<form method="get" action="/trace/checkpoint">{fields}'
        '<button type="submit">Trace</button></form>'
    )


def _table(rows: list[dict[str, Any]], path: str, query: dict[str, str]) -> str:
    csv_link = escape(f"{path}.csv?{urlencode(query)}", quote=True)
    cut = f" (first {TRACE_LIMIT})" if len(rows) >= TRACE_LIMIT else ""
    head = "".join(f"<th>{escape(c)}</th>" for c in TRACE_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(c, row[c]))}</td>" for c in TRACE_COLUMNS) + "</tr>"
        for row in rows
    )
    return (
        f'<p><span id="count">{len(rows)}</span> events{escape(cut)}. '
        f'<a id="csv" href="{csv_link}">CSV</a></p>'
        f'<table id="trace"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "wall_time":
        stamp = datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        return stamp[:-3] + "Z"
    return str(value)


def _instant(text: str) -> int | None:
    """ISO 8601; without a zone it is UTC (what the form says)."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
