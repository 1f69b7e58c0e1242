"""Who is asking: bearer tokens or login sessions, roles, and a limit on failed logins."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from ops.users import User, UsersFile

COOKIE = "ops_session"
SESSION_S = 12 * 3600
# Five wrong tokens, then one more try every 12 s per client address: a person who
# mistyped is barely slowed, a guesser gets 300 tries an hour (against 2**256 tokens).
FAILURES_ALLOWED = 5
REFILL_S = 12.0


@dataclass(slots=True)
class LoginThrottle:
    """A token bucket per client address, fed ``now``, so it is tested without waiting."""

    allowed: int = FAILURES_ALLOWED
    refill_s: float = REFILL_S
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def _level(self, client: str, now: float) -> float:
        used, at = self._buckets.get(client, (0.0, now))
        return max(0.0, used - (now - at) / self.refill_s)

    def blocked(self, client: str, now: float) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        used = self._level(client, now)
        return 0.0 if used <= self.allowed - 1 else (used - self.allowed + 1) * self.refill_s

    def failed(self, client: str, now: float) -> None:
        """Count one failed login from `client`."""
        self._buckets[client] = (self._level(client, now) + 1, now)
        if len(self._buckets) > 10_000:  # a scan of many addresses cannot grow this forever
            self._buckets = {c: v for c, v in self._buckets.items() if self._level(c, now) > 0}

    def succeeded(self, client: str) -> None:
        """Forget `client`'s failed logins."""
        self._buckets.pop(client, None)


class Gate:
    """Tokens, sessions and the throttle, shared by the server's threads."""

    def __init__(self, users: UsersFile, throttle: LoginThrottle | None = None) -> None:
        self.users = users
        self.throttle = throttle or LoginThrottle()
        self._sessions: dict[str, tuple[User, float]] = {}
        self._lock = threading.Lock()
        self.refused = 0

    def check_token(self, token: str, client: str) -> User | float | None:
        """The user, None for a wrong token, or the seconds to wait when throttled."""
        now = time.monotonic()
        with self._lock:
            wait = self.throttle.blocked(client, now)
            if wait:
                self.refused += 1
                return wait
        user = self.users.authenticate(token) if token else None
        with self._lock:
            if user is None:
                self.refused += 1
                self.throttle.failed(client, now)
            else:
                self.throttle.succeeded(client)
        return user

    def new_session(self, user: User) -> str:
        """Open a login session for `user`; its cookie value."""
        session = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._sessions = {s: v for s, v in self._sessions.items() if v[1] > now}
            self._sessions[session] = (user, now + SESSION_S)
        return session

    def session_user(self, session: str) -> User | None:
        """The user of a live session, None if unknown or expired."""
        with self._lock:
            user, until = self._sessions.get(session, (None, 0.0))
        if user is None or until <= time.time():
            return None
        # A user removed from the file loses their open sessions too.
        return user if self.users.names().get(user.name) == user.role else None

    def end_session(self, session: str) -> None:
        """End a session (log out)."""
        with self._lock:
            self._sessions.pop(session, None)
