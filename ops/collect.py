"""``checkpoint-ops collect``: the collector until SIGTERM or Ctrl-C, optionally the dashboard."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from ops.collector import Collector, CollectorConfig
from ops.db import DatabaseError, open_database
from ops.retention import Upkeep
from ops.secretfile import read_secret
from ops.store import Store
from scanner.cli.kit import CommandError, command, parser
from scanner.uplink.config import redact_url

log = logging.getLogger(__name__)

PASSWORD_ENV = "CHECKPOINT_OPS_BROKER_PASSWORD"


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops collect`: the collector until SIGTERM or Ctrl-C."""
    p = parser("checkpoint-ops collect", "Store every device message exactly once.")
    p.add_argument("--broker", required=True, help="mqtt[s]://[user@]host:port (no password)")
    p.add_argument(
        "--password-file",
        type=Path,
        help=f"the broker password, mode 0600 (default: ${PASSWORD_ENV}, else none)",
    )
    p.add_argument("--db", required=True, help="sqlite:///ops.db or postgresql://...")
    p.add_argument("--topic-root", default="checkpoint/v1")
    p.add_argument(
        "--client-id",
        default="checkpoint-ops-collector",
        help="fixed, so the broker keeps this collector's session across restarts",
    )
    p.add_argument("--ca-file", type=Path, help="mqtts: the broker's CA certificate (PEM)")
    p.add_argument("--cert-file", type=Path, help="mqtts: a client certificate (PEM)")
    p.add_argument("--key-file", type=Path, help="its private key (PEM, mode 0600)")
    p.add_argument("--shared", metavar="GROUP", help="share the event log with other collectors")
    p.add_argument("--session-expiry", type=int, default=7 * 86400, metavar="SECONDS")
    p.add_argument(
        "--keep-days",
        type=int,
        metavar="N",
        help="once a day, delete events older than N days (default: keep everything)",
    )
    p.add_argument("--dashboard", metavar="HOST:PORT", help="also serve the dashboard here")
    p.add_argument("--users", type=Path, help="the dashboard's users file (`checkpoint-ops user`)")
    args = p.parse_args(argv)
    if args.dashboard and not args.users:
        raise CommandError("--dashboard needs --users FILE (made with `checkpoint-ops user add`)")
    if args.keep_days is not None and args.keep_days < 1:
        raise CommandError("--keep-days must be at least 1")
    try:
        config = CollectorConfig(
            broker_url=args.broker,
            topic_root=args.topic_root,
            client_id=args.client_id,
            shared_group=args.shared,
            session_expiry_s=args.session_expiry,
            password=read_secret(args.password_file, PASSWORD_ENV, what="password"),
            ca_file=args.ca_file,
            cert_file=args.cert_file,
            key_file=args.key_file,
        )
        store = Store(open_database(args.db))
        collector = Collector(config, store)
    except (DatabaseError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = None
    if args.dashboard:
        from ops.dashboard.server import serve  # noqa: PLC0415 - only with --dashboard

        try:
            server = serve(args.db, args.dashboard, args.users)
        except (ValueError, OSError) as exc:  # a bad users file or address: one line
            raise CommandError(str(exc)) from None
    upkeep = Upkeep(args.db, args.keep_days, stop)
    collector.start()
    upkeep.start()
    log.info("collecting from %s into %s", redact_url(args.broker), store.db.kind)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        collector.stop()
        if server is not None:
            server.shutdown()
        store.db.close()
    return 0
