"""``checkpoint-ops dashboard``: serve the dashboard over a database until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading

from ops.dashboard.server import serve
from ops.db import DatabaseError
from scanner.cli.kit import CommandError, command, parser


@command
def main(argv: list[str]) -> int:
    p = parser("checkpoint-ops dashboard", "Serve the live fleet dashboard.")
    p.add_argument("--db", required=True, help="sqlite:///ops.db or postgresql://...")
    p.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (loopback by default)")
    p.add_argument("--token", required=True, help="the login token (Bearer header or login form)")
    p.add_argument(
        "--stale-after",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="an online device without a heartbeat this long is shown stale",
    )
    args = p.parse_args(argv)
    try:
        running = serve(args.db, args.listen, args.token, stale_after_s=args.stale_after)
    except (DatabaseError, ValueError, OSError) as exc:
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
