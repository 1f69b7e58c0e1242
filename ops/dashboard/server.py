"""The dashboard's HTTP side: token login, live snapshots over server-sent events, tracing, CSV."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ops.dashboard import assets, pages
from ops.db import open_database
from ops.views import Views

log = logging.getLogger(__name__)

COOKIE = "ops_session"
SESSION_S = 12 * 3600
_SNAPSHOT_TTL_S = 0.4  # every open page polls through one shared snapshot
_SSE_TICK_S = 0.5
_SECURITY_HEADERS = {
    # Every script and style is ours: nothing inline, nothing from elsewhere.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Dashboard:
    """State shared by the request threads: the views, the login sessions, the snapshot cache."""

    def __init__(self, views: Views, token: str) -> None:
        if len(token) < 8:
            raise ValueError("the dashboard token must be at least 8 characters")
        self.views = views
        self._token = token.encode()
        self._sessions: dict[str, float] = {}
        self._lock = threading.Lock()
        self._snapshot: tuple[float, str] = (0.0, "")
        self.stopping = threading.Event()

    def token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token)

    def new_session(self) -> str:
        session = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._sessions = {s: t for s, t in self._sessions.items() if t > now}
            self._sessions[session] = now + SESSION_S
        return session

    def session_ok(self, session: str) -> bool:
        with self._lock:
            return self._sessions.get(session, 0.0) > time.time()

    def end_session(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)

    def snapshot(self) -> str:
        with self._lock:
            at, cached = self._snapshot
            if time.monotonic() - at < _SNAPSHOT_TTL_S and cached:
                return cached
            views = self.views
            document = {
                "now": time.time(),
                "fleet": views.fleet(),
                "alerts": views.alerts(),
                "refusals": views.refusals(),
                "recent": views.recent(),
                "chart": views.chart(),
                "counters": views.counters(),
                "gaps": views.gaps(),
            }
            text = json.dumps(document, separators=(",", ":"))
            self._snapshot = (time.monotonic(), text)
            return text


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - paho-style override
        # Request lines carry pass IDs in query strings: debug only.
        log.debug("%s %s", self.address_string(), format % args)

    # -- routing -------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, max_num_fields=20).items()}
        if url.path in assets.FILES:
            text, content_type = assets.FILES[url.path]
            self._send(HTTPStatus.OK, text.encode(), content_type)
        elif url.path == "/login":
            self._html(HTTPStatus.OK, pages.login())
        elif not self._authorised():
            self._refuse()
        elif url.path == "/":
            self._html(HTTPStatus.OK, pages.index())
        elif url.path == "/api/snapshot":
            self._send(HTTPStatus.OK, self.server.dashboard.snapshot().encode(), "application/json")
        elif url.path == "/events":
            self._events()
        elif url.path in pages.TRACE_ROUTES:
            status, body, content_type = pages.trace(url.path, query, self.server.dashboard.views)
            self._send(status, body, content_type, download=url.path.endswith(".csv"))
        else:
            self._html(HTTPStatus.NOT_FOUND, pages.not_found())

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > 4096:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"too large", "text/plain")
            return
        form = {
            k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(errors="replace")).items()
        }
        dashboard = self.server.dashboard
        if url.path == "/login":
            if not dashboard.token_ok(form.get("token", "")):
                self._html(HTTPStatus.UNAUTHORIZED, pages.login(failed=True))
                return
            session = dashboard.new_session()
            cookie = f"{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_S}"
            self._redirect("/", cookie)
        elif url.path == "/logout":
            dashboard.end_session(self._cookie())
            self._redirect("/login", f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
        else:
            self._html(HTTPStatus.NOT_FOUND, pages.not_found())

    # -- login ---------------------------------------------------------------------

    def _cookie(self) -> str:
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is just no session
            return ""
        morsel = jar.get(COOKIE)
        return morsel.value if morsel is not None else ""

    def _authorised(self) -> bool:
        dashboard = self.server.dashboard
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer ") and dashboard.token_ok(header[7:].strip()):
            return True
        session = self._cookie()
        return bool(session) and dashboard.session_ok(session)

    def _refuse(self) -> None:
        self.server.refused += 1
        self._html(HTTPStatus.UNAUTHORIZED, pages.login())

    # -- answers -------------------------------------------------------------------

    def _events(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        dashboard = self.server.dashboard
        last = ""
        quiet = 0.0
        try:
            while not dashboard.stopping.is_set():
                snapshot = dashboard.snapshot()
                if snapshot != last:
                    self.wfile.write(f"data: {snapshot}\n\n".encode())
                    self.wfile.flush()
                    last, quiet = snapshot, 0.0
                elif quiet > 15:
                    self.wfile.write(b": ping\n\n")  # keeps proxies from closing an idle stream
                    self.wfile.flush()
                    quiet = 0.0
                dashboard.stopping.wait(_SSE_TICK_S)
                quiet += _SSE_TICK_S
        except (BrokenPipeError, ConnectionResetError):
            return

    def _html(self, status: HTTPStatus, body: str) -> None:
        self._send(status, body.encode(), "text/html; charset=utf-8")

    def _redirect(self, where: str, cookie: str) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", where)
        self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str, *, download: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if download:
            self.send_header("Content-Disposition", 'attachment; filename="trace.csv"')
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    dashboard: Dashboard
    refused: int = 0


class RunningDashboard:
    """A dashboard serving on its own thread; ``shutdown`` ends the streams and the server."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self.server.dashboard.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host, int(port)


def serve(
    db_url: str, listen: str, token: str, *, stale_after_s: float = 180.0
) -> RunningDashboard:
    """Start serving ``db_url`` on ``listen`` (loopback unless told otherwise)."""
    host, port = parse_listen(listen)
    dashboard = Dashboard(Views(open_database(db_url), stale_after_s=stale_after_s), token)
    server = _Server((host, port), Handler)
    server.dashboard = dashboard
    log.info("dashboard on http://%s:%d/", host, server.server_address[1])
    return RunningDashboard(server)
