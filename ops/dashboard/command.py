"""``checkpoint-ops dashboard``: serve the dashboard and its API until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from ops.dashboard.server import serve
from ops.db import DatabaseError
from ops.times import DEFAULT_ZONE, TimeFormatError
from ops.users import UsersFileError
from scanner.cli.kit import CommandError, command, parser


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops dashboard`: serve the dashboard until SIGTERM or Ctrl-C."""
    p = parser("checkpoint-ops dashboard", "Serve the live fleet dashboard, tracing and its API.")
    p.add_argument("--db", required=True, help="sqlite:///ops.db or postgresql://...")
    p.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (loopback by default)")
    p.add_argument(
        "--users",
        type=Path,
        required=True,
        help="the users file (0600), made with `checkpoint-ops user --users FILE add NAME`",
    )
    p.add_argument("--zone", default=DEFAULT_ZONE, help=f"times shown in (default {DEFAULT_ZONE})")
    p.add_argument(
        "--stale-after",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="an online device without a heartbeat this long is shown stale",
    )
    # A token on the command line is visible to every local user (ps, /proc): refused.
    p.add_argument("--token", help="no longer accepted: use --users")
    args = p.parse_args(argv)
    if args.token is not None:
        raise CommandError(
            "--token is gone (a command line is readable by every local user): "
            "make a users file with `checkpoint-ops user --users FILE add NAME --role tracer`"
        )
    try:
        running = serve(
            args.db, args.listen, args.users, stale_after_s=args.stale_after, zone_name=args.zone
        )
    except (DatabaseError, UsersFileError, TimeFormatError, ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.shutdown()
    return 0
