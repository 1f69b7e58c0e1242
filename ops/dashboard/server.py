"""Serving the dashboard: uvicorn on its own thread, loopback unless told otherwise."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import uvicorn

from ops import trace_schema
from ops.audit import Auditor
from ops.dashboard.app import create_app
from ops.dashboard.auth import Gate, LoginThrottle
from ops.dashboard.site import Site
from ops.db import open_database
from ops.times import DEFAULT_ZONE, zone
from ops.users import UsersFile
from ops.views import Views

log = logging.getLogger(__name__)


class RunningDashboard:
    """A uvicorn server on a thread; ``shutdown`` ends the live streams, then the server."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, state: Site) -> None:
        self.server = server
        self.site = state
        self.port = int(sock.getsockname()[1])
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="dashboard", daemon=True
        )
        self._thread.start()
        if not _wait_started(server, self._thread):
            raise OSError("the dashboard server did not start")

    @property
    def refused(self) -> int:
        """Requests refused for a missing or wrong token."""
        return self.site.gate.refused

    def shutdown(self) -> None:
        """Stop serving and wait for the server thread."""
        self.site.stopping.set()
        self.server.should_exit = True
        self._thread.join(10)
        self.site.views.db.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> bool:
    started = threading.Event()
    while thread.is_alive() and not server.started:
        started.wait(0.02)
    return bool(server.started)


def parse_listen(listen: str) -> tuple[str, int]:
    """HOST:PORT as (host, port); ValueError if it is not one."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


def serve(
    db_url: str,
    listen: str,
    users: Path,
    *,
    stale_after_s: float = 180.0,
    zone_name: str = DEFAULT_ZONE,
    throttle: LoginThrottle | None = None,
) -> RunningDashboard:
    """Start serving ``db_url`` on ``listen`` to the users of the ``users`` file."""
    host, port = parse_listen(listen)
    people = UsersFile(users)
    tz = zone(zone_name)
    db = open_database(db_url)
    trace_schema.prepare(db)
    state = Site(
        views=Views(db, stale_after_s=stale_after_s),
        gate=Gate(people, throttle),
        auditor=Auditor(db),
        zone=tz,
        zone_name=zone_name,
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # No access log: request lines carry pass IDs in their query strings.
    config = uvicorn.Config(
        create_app(state),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        server_header=False,
    )
    running = RunningDashboard(uvicorn.Server(config), sock, state)
    log.info("dashboard on http://%s:%d/", host, running.port)
    return running
