"""The dashboard's HTML pages; every value from the database is escaped here."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from ops.report import EVENT_COLUMNS
from ops.users import User


def _nav(user: User | None) -> str:
    links = ['<a href="/">Fleet</a>']
    if user is not None and user.may("trace"):
        links += [
            '<a href="/trace/contacts" id="nav-contacts">Contacts of a case</a>',
            '<a href="/trace/pass">Trace a pass</a>',
            '<a href="/trace/checkpoint">Trace a checkpoint</a>',
        ]
    if user is not None and user.may("audit"):
        links.append('<a href="/audit" id="nav-audit">Audit</a>')
    who = (
        f'<span class="who">{escape(user.name)} ({escape(user.role.value)})</span>' if user else ""
    )
    return (
        f"<nav>{' '.join(links)} {who}"
        '<form method="post" action="/logout" class="inline"><button>Log out</button></form></nav>'
    )


def _page(title: str, body: str, *, scripts: tuple[str, ...] = ()) -> str:
    tags = "".join(f'<script src="/static/{name}" defer></script>' for name in scripts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/static/style.css">'
        f"{tags}</head><body>{body}</body></html>"
    )


def login(*, failed: bool = False, wait_s: int = 0) -> str:
    """The login page, noting a wrong token or the wait after too many."""
    note = '<p class="bad" id="login-failed">Wrong token.</p>' if failed else ""
    if wait_s:
        note = f'<p class="bad" id="login-throttled">Too many wrong tokens: wait {wait_s} s.</p>'
    return _page(
        "Checkpoint ops: log in",
        "<main class=login><h1>Checkpoint ops</h1>"
        f'{note}<form method="post" action="/login">'
        '<label>Access token <input type="password" name="token" id="token" autofocus></label>'
        '<button type="submit" id="login">Log in</button></form></main>',
    )


def message(user: User | None, title: str, text: str) -> str:
    """A refusal or a missing page, in the dashboard's frame."""
    return _page(title, f'{_nav(user)}<main><h1>{escape(title)}</h1><p id="refusal">'
                 f"{escape(text)}</p></main>")  # fmt: skip


def index(user: User) -> str:
    """The live page: empty tables that app.js fills from the event stream."""
    return _page(
        "Checkpoint fleet",
        f"{_nav(user)}<main><h1>Checkpoint fleet <span id=live class=muted>connecting…</span></h1>"
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
        scripts=("app.js",),
    )


def contacts(user: User, zone_name: str) -> str:
    """The contacts form; trace.js asks /api/trace/contacts and draws the graph and the table."""
    fields = "".join(
        f'<label>{label} <input name="{name}" id="{name}" {extra}></label> '
        for name, label, extra in (
            ("case", "Case pass IDs (F0, comma-separated)", 'size="30" required'),
            ("from", f"From ({escape(zone_name)})", 'placeholder="2026-11-26T07:30" required'),
            ("to", "To", 'placeholder="2026-11-26T18:00" required'),
            ("window", "Window", 'value="15m" size="5"'),
            ("depth", "Depth", 'value="2" size="2"'),
        )
    )
    return _page(
        "Contacts of a case",
        f"{_nav(user)}<main><h1>Contacts of a case (F0 → F1 → F2)</h1>"
        f'<form id="contacts-form">{fields}<button type="submit" id="run">Trace</button></form>'
        '<p id="status" class="muted"></p><p id="cut" class="bad"></p>'
        '<div id="graph"></div><p><a id="csv" hidden>CSV</a></p>'
        "<table id=contacts><thead><tr><th>Level</th><th>Pass</th><th>Via</th><th>Checkpoint</th>"
        "<th>Via's time</th><th>Contact's time</th><th>Gap</th><th>Same lane</th>"
        "<th>Co-presences</th><th>Clock</th></tr></thead><tbody></tbody></table></main>",
        scripts=("trace.js",),
    )


def events(
    user: User, by_pass: bool, query: dict[str, str], answer: dict[str, Any] | None, error: str
) -> str:
    """A pass's or a checkpoint's events: the form, and the table when asked."""
    path = "/trace/pass" if by_pass else "/trace/checkpoint"
    if by_pass:
        value = escape(query.get("pass_id", ""), quote=True)
        form = (
            "<h1>Where and when was a pass seen</h1>"
            '<form method="get" action="/trace/pass"><label>Pass ID '
            f'<input name="pass_id" id="pass_id" value="{value}"></label>'
            '<button type="submit">Trace</button></form>'
        )
    else:
        fields = "".join(
            f'<label>{label} <input name="{name}" id="{name}" '
            f'value="{escape(query.get(name, ""), quote=True)}"></label> '
            for name, label in (("checkpoint_id", "Checkpoint"), ("from", "From"), ("to", "To"))
        )
        form = (
            "<h1>Which passes went through a checkpoint</h1>"
            f'<form method="get" action="/trace/checkpoint">{fields}'
            '<button type="submit">Trace</button></form>'
        )
    body = f"{_nav(user)}<main>{form}"
    if error:
        body += f'<p class="bad">{escape(error)}</p>'
    if answer is not None:
        body += _table(answer, f"/api{path}.csv?{urlencode(query)}")
    return _page("Trace a pass" if by_pass else "Trace a checkpoint", body + "</main>")


def _table(answer: dict[str, Any], csv_link: str) -> str:
    rows = answer["events"]
    cut = (
        f' <span class="bad" id="cut">Cut: {escape(answer["cut"])}.</span>' if answer["cut"] else ""
    )
    head = "".join(f"<th>{escape(c)}</th>" for c in EVENT_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_text(row[c]))}</td>" for c in EVENT_COLUMNS) + "</tr>"
        for row in rows
    )
    return (
        f'<p><span id="count">{len(rows)}</span> events.{cut} '
        f'<a id="csv" href="{escape(csv_link, quote=True)}">CSV</a></p>'
        f'<table id="trace"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def audit(user: User, entries: list[dict[str, Any]]) -> str:
    """The audit page: who traced what, when."""
    keys = ("at", "user_name", "role", "action", "row_count", "cut", "client", "query")
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_text(entry[k]))}</td>" for k in keys) + "</tr>"
        for entry in entries
    )
    return _page(
        "Audit",
        f"{_nav(user)}<main><h1>Who traced what</h1>"
        f'<table id="audit"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></main>',
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
