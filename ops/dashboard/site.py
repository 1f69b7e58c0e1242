"""What every request shares (views, users, audit, zone, the snapshot cache) and who is asking."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ops.audit import Auditor
from ops.dashboard.auth import COOKIE, Gate
from ops.users import User
from ops.views import Views

_SNAPSHOT_TTL_S = 0.4  # every open page's stream reads through one shared snapshot


@dataclass
class Site:
    """What every request shares: views, users, audit, zone and the snapshot cache."""

    views: Views
    gate: Gate
    auditor: Auditor
    zone: tzinfo
    zone_name: str
    stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _snapshot: tuple[float, str] = (0.0, "")

    def snapshot(self) -> str:
        """The fleet snapshot document, cached for a moment so many viewers cost one read."""
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


def site(request: Request) -> Site:
    """The Site the app serves."""
    found: Site = request.app.state.site
    return found


def client_of(request: Request) -> str:
    """The client's address, for throttling and the audit."""
    return request.client.host if request.client else "unknown"


_bearer = HTTPBearer(auto_error=False, description="a token from `checkpoint-ops user add`")


def who(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user of a bearer token or of a login session; 401 otherwise, 429 when throttled."""
    s = site(request)
    if credentials is not None:
        found = s.gate.check_token(credentials.credentials, client_of(request))
        if isinstance(found, float):
            raise HTTPException(
                429, "too many failed logins: wait", {"Retry-After": str(math.ceil(found))}
            )
        if found is None:
            raise HTTPException(401, "unknown token", {"WWW-Authenticate": "Bearer"})
        return found
    session = request.cookies.get(COOKIE, "")
    user = s.gate.session_user(session) if session else None
    if user is None:
        s.gate.refused += 1
        raise HTTPException(401, "log in first", {"WWW-Authenticate": "Bearer"})
    return user


def _grant(name: str, refusal: str) -> Callable[[Request, User], User]:
    def check(request: Request, user: Annotated[User, Depends(who)]) -> User:
        if not user.may(name):
            if name == "trace":
                # A refused tracing request is a tracing request: the audit shows it too.
                site(request).auditor.record(
                    user=user.name,
                    role=user.role.value,
                    action="refused",
                    query={"path": request.url.path},
                    rows=0,
                    cut=refusal,
                    client=client_of(request),
                )
            raise HTTPException(403, refusal)
        return user

    return check


fleet_user = _grant("fleet", "not allowed")
tracer = _grant("trace", "tracing needs the tracer role")
auditor_user = _grant("audit", "the audit is for the ops role")
