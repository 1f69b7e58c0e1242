"""The ops API (/api/...): the fleet for all, traces for tracers (audited), the audit for ops."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Query as Param
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel

from ops.contacts import DEFAULT_DEPTH, MAX_DEPTH, Query
from ops.dashboard.site import auditor_user, client_of, fleet_user, site, tracer
from ops.report import (
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    contacts_document,
    event_row,
    query_document,
    write_csv,
)
from ops.times import TimeFormatError, format_time, parse_duration, parse_time
from ops.users import User
from ops.views import TRACE_LIMIT

MAX_WINDOW_S = 86400  # a co-presence window over a day is a typing error, not a contact
_TEXT = r"^[^\x00-\x1f\x7f]+$"  # no control characters (PostgreSQL refuses NUL in text)
Text = Annotated[str, Param(min_length=1, max_length=200, pattern=_TEXT)]
Instant = Annotated[
    str,
    Param(
        min_length=1,
        max_length=40,
        pattern=_TEXT,
        description="ISO 8601; without an offset it is in the dashboard's zone",
    ),
]

router = APIRouter(prefix="/api")


def invalid(field: str, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own (the spec promises that shape for every 422)."""
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error", "input": None}]
    )


class Me(BaseModel):
    """The user asking, their role and the tracing zone."""

    name: str
    role: str
    zone: str


class ContactOut(BaseModel):
    """One contact in a tracing answer."""

    level: int
    pass_id: str
    via: str
    checkpoint_id: str
    via_time: str
    contact_time: str
    gap: str
    gap_s: int
    same_unit: bool
    copresences: int
    uncertain: bool
    first_contact: str


class ContactsOut(BaseModel):
    """A contact tracing answer: the query, contacts, case scans and any cut."""

    query: dict[str, Any]
    cut: str | None
    case_scans: dict[str, int]
    counts: dict[str, int]
    contacts: list[ContactOut]


class EventsOut(BaseModel):
    """A pass or checkpoint trace: the query, its events and any cut."""

    query: dict[str, Any]
    cut: str | None
    events: list[dict[str, Any]]


class AuditOut(BaseModel):
    """Entries of the tracing audit, newest first."""

    entries: list[dict[str, Any]]


@router.get("/me", response_model=Me)
def me(request: Request, user: Annotated[User, Depends(fleet_user)]) -> Me:
    """Who the token or session belongs to, and the tracing zone."""
    return Me(name=user.name, role=user.role.value, zone=site(request).zone_name)


@router.get("/snapshot", dependencies=[Depends(fleet_user)])
def snapshot(request: Request) -> Response:
    """Fleet, alerts, refusals, latest events (without pass IDs), charts and counters."""
    return Response(site(request).snapshot(), media_type="application/json")


@router.get("/fleet", dependencies=[Depends(fleet_user)])
def fleet(request: Request) -> list[dict[str, Any]]:
    """Every device's latest state."""
    return site(request).views.fleet()


@router.get("/alerts", dependencies=[Depends(fleet_user)])
def alerts(request: Request) -> list[dict[str, Any]]:
    """The latest alerts, newest first."""
    return site(request).views.alerts()


Cases = Annotated[list[str], Param(description="F0 pass IDs (repeat the parameter)")]
Window = Annotated[str, Param(max_length=20, description="e.g. 90s, 15m, 2h")]
Depth = Annotated[int, Param(ge=1, le=MAX_DEPTH)]


def contact_query(
    request: Request,
    *,
    case: Cases,
    start: Annotated[Instant, Param(alias="from")],
    end: Annotated[Instant, Param(alias="to")],
    window: Window = "15m",
    depth: Depth = DEFAULT_DEPTH,
) -> Query:
    """The query's parameters checked; 422 with the reason when they cannot be answered."""
    if not 1 <= len(case) <= 20:
        raise invalid("case", "give 1 to 20 case pass IDs")
    for one in case:
        if not 1 <= len(one) <= 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in one):
            raise invalid("case", "a case pass ID is 1 to 200 printable characters")
    s = site(request)
    try:
        window_s = parse_duration(window)
        if window_s > MAX_WINDOW_S:
            raise invalid("window", "the co-presence window is at most 1d")
        return Query(
            tuple(dict.fromkeys(case)),
            parse_time(start, s.zone),
            parse_time(end, s.zone),
            window_s,
            depth,
        )
    except (TimeFormatError, ValueError) as exc:
        raise invalid("query", str(exc)) from None


def contacts(request: Request, user: User, query: Query) -> dict[str, Any]:
    """The answer as one document, audited (the dashboard's tracing page uses it too)."""
    s = site(request)
    answer = s.views.contacts(query)
    s.auditor.record(
        user=user.name,
        role=user.role.value,
        action="contacts",
        query=query_document(query, s.zone),
        rows=len(answer.contacts),
        cut=answer.cut,
        client=client_of(request),
    )
    return contacts_document(query, answer, s.zone)


Tracer = Annotated[User, Depends(tracer)]
ContactQuery = Annotated[Query, Depends(contact_query)]


@router.get("/trace/contacts", response_model=ContactsOut)
def trace_contacts(request: Request, user: Tracer, query: ContactQuery) -> dict[str, Any]:
    """F1 (and F2, F3) of the cases: who was at a checkpoint within ±window of them."""
    return contacts(request, user, query)


@router.get("/trace/contacts.csv", response_class=Response)
def trace_contacts_csv(request: Request, user: Tracer, query: ContactQuery) -> Response:
    """The same contacts as CSV (formula-safe; a last row says when the answer was cut)."""
    document = contacts(request, user, query)
    return csv_response(CONTACT_COLUMNS, document["contacts"], document["cut"], "contacts.csv")


def events(request: Request, user: User, action: str, asked: dict[str, Any]) -> EventsOut:
    """A pass's scans or a checkpoint's, audited, with local times (the HTML pages use it too)."""
    s = site(request)
    if action == "pass":
        rows = s.views.trace_pass(asked["pass_id"])
    else:
        try:
            start, end = parse_time(asked["from"], s.zone), parse_time(asked["to"], s.zone)
        except TimeFormatError as exc:
            raise invalid("from", str(exc)) from None
        rows = s.views.trace_checkpoint(asked["checkpoint_id"], start, end)
        asked = dict(asked, **{"from": format_time(start, s.zone), "to": format_time(end, s.zone)})
    cut = f"the first {TRACE_LIMIT} events are shown" if len(rows) >= TRACE_LIMIT else None
    s.auditor.record(
        user=user.name,
        role=user.role.value,
        action=action,
        query=asked,
        rows=len(rows),
        cut=cut,
        client=client_of(request),
    )
    return EventsOut(query=asked, cut=cut, events=[event_row(row, s.zone) for row in rows])


@router.get("/trace/pass", response_model=EventsOut)
def trace_pass(request: Request, user: Tracer, pass_id: Text) -> EventsOut:
    """Where and when was this pass seen (trusted time)."""
    return events(request, user, "pass", {"pass_id": pass_id})


@router.get("/trace/checkpoint", response_model=EventsOut)
def trace_checkpoint(
    request: Request,
    user: Tracer,
    checkpoint_id: Text,
    start: Annotated[Instant, Param(alias="from")],
    end: Annotated[Instant, Param(alias="to")],
) -> EventsOut:
    """Which passes went through the checkpoint in [from, to)."""
    asked = {"checkpoint_id": checkpoint_id, "from": start, "to": end}
    return events(request, user, "checkpoint", asked)


@router.get("/audit", response_model=AuditOut, dependencies=[Depends(auditor_user)])
def audit(
    request: Request,
    limit: Annotated[int, Param(ge=1, le=1000)] = 200,
) -> AuditOut:
    """Who traced what, when, with how many rows: the latest entries first."""
    s = site(request)
    entries = s.auditor.entries(limit)
    for entry in entries:
        entry["at"] = format_time(entry["at"], s.zone)
    return AuditOut(entries=entries)


def csv_response(
    columns: tuple[str, ...], rows: list[dict[str, Any]], cut: str | None, name: str
) -> Response:
    """A CSV download of `rows`, with a note row where the answer was cut."""
    out = io.StringIO()
    write_csv(out, columns, rows, cut)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/trace/pass.csv", response_class=Response)
def trace_pass_csv(request: Request, user: Tracer, pass_id: Text) -> Response:
    """A pass's scans as CSV (audited)."""
    answer = events(request, user, "pass", {"pass_id": pass_id})
    return csv_response(EVENT_COLUMNS, answer.events, answer.cut, "pass.csv")


@router.get("/trace/checkpoint.csv", response_class=Response)
def trace_checkpoint_csv(
    request: Request,
    user: Tracer,
    checkpoint_id: Text,
    start: Annotated[Instant, Param(alias="from")],
    end: Annotated[Instant, Param(alias="to")],
) -> Response:
    """The passes scanned at a checkpoint in a window, as CSV (audited)."""
    asked = {"checkpoint_id": checkpoint_id, "from": start, "to": end}
    answer = events(request, user, "checkpoint", asked)
    return csv_response(EVENT_COLUMNS, answer.events, answer.cut, "checkpoint.csv")
