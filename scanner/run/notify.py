"""systemd's sd_notify protocol (ready, watchdog, status, stopping) without extra dependencies."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings: half of $WATCHDOG_USEC; None when no watchdog is set.

    As sd_watchdog_enabled() does, a $WATCHDOG_PID naming another process means
    the watchdog is not ours.
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        logger.warning("notify: ignoring WATCHDOG_USEC=%r: not an integer", usec)
        return None
    if value <= 0:
        return None
    return value / 2_000_000


def _socket_address(raw: str) -> str | None:
    """The sendto() address for $NOTIFY_SOCKET: a path, or "@name" in the abstract namespace."""
    if raw.startswith("@"):
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    return None  # e.g. "vsock:" addresses (systemd 254+), not needed on Bookworm's 252


class Notifier:
    """Sends sd_notify datagrams to $NOTIFY_SOCKET; a no-op without it; never raises.

    The variable is read once, here. A failed send is logged once, at warning
    level, and later failures only at debug: a service manager that went away
    must not flood the journal or stop the scan loop.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        self._address = _socket_address(raw) if raw else None
        self._socket: socket.socket | None = None
        self._warned = False
        if raw and self._address is None:
            logger.warning("notify: unsupported NOTIFY_SOCKET %r; not notifying systemd", raw)
        if self._address is not None:
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            except OSError as exc:
                logger.warning("notify: cannot create a socket (%s); not notifying systemd", exc)
                self._address = None
            else:
                self._socket = sock

    @property
    def enabled(self) -> bool:
        """Whether a service manager is listening (NOTIFY_SOCKET was set and usable)."""
        return self._socket is not None

    def ready(self) -> bool:
        """READY=1: start-up is complete (camera, lights, store and trust data are up)."""
        return self.send("READY=1")

    def watchdog(self) -> bool:
        """WATCHDOG=1: the scan loop is alive."""
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """STATUS=...: a one-line summary for `systemctl status`."""
        return self.send("STATUS=" + " ".join(text.splitlines()))

    def stopping(self) -> bool:
        """STOPPING=1: a clean stop has begun."""
        return self.send("STOPPING=1")

    def send(self, *assignments: str) -> bool:
        """Send VAR=value lines as one datagram; True if it was sent."""
        sock, address = self._socket, self._address
        if sock is None or address is None:
            return False
        data = "\n".join(assignments).encode()
        try:
            sock.sendto(data, address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                logger.warning("notify: sending to NOTIFY_SOCKET failed (%s); will not repeat", exc)
            else:
                logger.debug("notify: send failed again: %s", exc)
            return False
        return True

    def close(self) -> None:
        """Close the socket; later calls become no-ops."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
