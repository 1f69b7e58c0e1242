"""``checkpoint-ops collect``: the collector until SIGTERM or Ctrl-C, optionally the dashboard."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from ops.collector import Collector, CollectorConfig
from ops.db import DatabaseError, open_database
from ops.store import Store
from scanner.cli.kit import CommandError, command, parser
from scanner.uplink.config import redact_url

log = logging.getLogger(__name__)


@command
def main(argv: list[str]) -> int:
    p = parser("checkpoint-ops collect", "Store every device message exactly once.")
    p.add_argument("--broker", required=True, help="mqtt://[user:password@]host:port")
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
    p.add_argument("--dashboard", metavar="HOST:PORT", help="also serve the dashboard here")
    p.add_argument("--token", help="the dashboard's login token (with --dashboard)")
    args = p.parse_args(argv)
    if args.dashboard and not args.token:
        raise CommandError("--dashboard needs --token")
    try:
        store = Store(open_database(args.db))
        config = CollectorConfig(
            broker_url=args.broker,
            topic_root=args.topic_root,
            client_id=args.client_id,
            shared_group=args.shared,
            session_expiry_s=args.session_expiry,
            ca_file=args.ca_file,
            cert_file=args.cert_file,
            key_file=args.key_file,
        )
        collector = Collector(config, store)
    except (DatabaseError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = None
    if args.dashboard:
        from ops.dashboard.server import serve  # noqa: PLC0415 - only with --dashboard

        server = serve(args.db, args.dashboard, args.token)
    collector.start()
    log.info("collecting from %s into %s", redact_url(args.broker), store.db.kind)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        collector.stop()
        if server is not None:
            server.shutdown()
        store.db.close()
    return 0
