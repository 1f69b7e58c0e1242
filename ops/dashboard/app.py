"""The dashboard as an ASGI app (FastAPI): pages, static files, the live stream and the API."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ops.dashboard import api, assets, pages
from ops.dashboard.auth import COOKIE, SESSION_S
from ops.dashboard.site import Site, auditor_user, client_of, fleet_user, site, tracer
from ops.users import User

_SSE_TICK_S = 0.5
_SECURITY_HEADERS = {
    # Every script and style is ours: nothing inline, nothing from elsewhere.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Fleet = Annotated[User, Depends(fleet_user)]
Tracer = Annotated[User, Depends(tracer)]


def create_app(state: Site) -> FastAPI:
    """The dashboard's ASGI app over `state`: pages, static files, live stream and API."""
    # No /docs or /redoc: FastAPI's pages load Swagger UI from a CDN. The spec stays.
    app = FastAPI(
        title="Checkpoint ops API",
        version="1",
        docs_url=None,
        redoc_url=None,
        description="Fleet state for ops and tracers; contact tracing for tracers (audited).",
    )
    app.state.site = state
    app.include_router(api.router)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def refusal(request: Request, exc: StarletteHTTPException) -> Response:
        """The API answers JSON; a page answers the login form or a refusal page."""
        if request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        if exc.status_code == 401:
            return HTMLResponse(pages.login(), 401)
        text = str(exc.detail)
        return HTMLResponse(pages.message(None, "Refused" if exc.status_code == 403 else text,
                                          text), exc.status_code, headers=exc.headers)  # fmt: skip

    _login_pages(app)
    _pages(app)
    return app


def _login_pages(app: FastAPI) -> None:
    """Static files and logging in and out: what a visitor without a session may reach."""

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        found = assets.FILES.get(f"/static/{name}")
        if found is None:
            raise HTTPException(404, "no such file")
        return Response(found[0], media_type=found[1])

    @app.get("/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return HTMLResponse(pages.login())

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > 4096:
            return HTMLResponse(pages.login(failed=True), 413)
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        gate = site(request).gate
        found = await run_in_threadpool(gate.check_token, form.get("token", ""), client_of(request))
        if isinstance(found, float):
            wait = math.ceil(found)
            return HTMLResponse(pages.login(wait_s=wait), 429, {"Retry-After": str(wait)})
        if found is None:
            return HTMLResponse(pages.login(failed=True), 401)
        answer = RedirectResponse("/", 303)
        answer.set_cookie(
            COOKIE, gate.new_session(found), max_age=SESSION_S, httponly=True, samesite="strict"
        )
        return answer

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        site(request).gate.end_session(request.cookies.get(COOKIE, ""))
        answer = RedirectResponse("/login", 303)
        answer.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return answer


def _pages(app: FastAPI) -> None:
    """The fleet, tracing and audit pages, each behind its role."""

    @app.get("/", include_in_schema=False)
    def index(user: Fleet) -> HTMLResponse:
        return HTMLResponse(pages.index(user))

    @app.get("/events", include_in_schema=False, dependencies=[Depends(fleet_user)])
    def events(request: Request) -> StreamingResponse:
        return StreamingResponse(_stream(request), media_type="text/event-stream")

    @app.get("/trace/contacts", include_in_schema=False)
    def contacts(request: Request, user: Tracer) -> HTMLResponse:
        return HTMLResponse(pages.contacts(user, site(request).zone_name))

    @app.get("/trace/pass", include_in_schema=False)
    def trace_pass(request: Request, user: Tracer) -> HTMLResponse:
        return _events_page(request, user, by_pass=True)

    @app.get("/trace/checkpoint", include_in_schema=False)
    def trace_checkpoint(request: Request, user: Tracer) -> HTMLResponse:
        return _events_page(request, user, by_pass=False)

    @app.get("/audit", include_in_schema=False)
    def audit(request: Request, user: Annotated[User, Depends(auditor_user)]) -> HTMLResponse:
        entries = api.audit(request, 200).entries
        return HTMLResponse(pages.audit(user, entries))


def _events_page(request: Request, user: User, *, by_pass: bool) -> HTMLResponse:
    names = ("pass_id",) if by_pass else ("checkpoint_id", "from", "to")
    query = {n: request.query_params.get(n, "").strip()[:200] for n in names}
    if not all(query.values()):
        error = "" if not any(query.values()) else "Give the checkpoint and both times."
        return HTMLResponse(pages.events(user, by_pass, query, None, error))
    if any(ord(ch) < 32 for value in query.values() for ch in value):
        return HTMLResponse(pages.events(user, by_pass, query, None, "Control characters."), 422)
    try:
        answer = api.events(request, user, "pass" if by_pass else "checkpoint", query)
    except RequestValidationError as exc:
        error = "; ".join(str(e.get("msg")) for e in exc.errors())
        return HTMLResponse(pages.events(user, by_pass, query, None, error), 422)
    return HTMLResponse(pages.events(user, by_pass, query, answer.model_dump(), ""))


async def _stream(request: Request) -> AsyncIterator[bytes]:
    """A snapshot whenever it changed, a comment every 15 s so proxies keep the stream open."""
    state = site(request)
    last, quiet = "", 0.0
    while not state.stopping.is_set() and not await request.is_disconnected():
        snapshot = await run_in_threadpool(state.snapshot)
        if snapshot != last:
            yield f"data: {snapshot}\n\n".encode()
            last, quiet = snapshot, 0.0
        elif quiet > 15:
            yield b": ping\n\n"
            quiet = 0.0
        await asyncio.sleep(_SSE_TICK_S)
        quiet += _SSE_TICK_S
