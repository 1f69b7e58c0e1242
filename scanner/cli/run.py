"""`checkpoint-scanner run --config FILE`: the daemon, normally started by systemd."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from scanner.app import App
from scanner.cli.kit import CommandError, command, parser
from scanner.config.load import load
from scanner.errors import ConfigError, StartupError

log = logging.getLogger(__name__)


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-scanner run`: the daemon, until SIGTERM."""
    p = parser("checkpoint-scanner run", "Run the checkpoint unit (normally under systemd).")
    p.add_argument(
        "--config",
        type=Path,
        default=Path("/etc/checkpoint-scanner/scanner.toml"),
        help="the configuration file",
    )
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    args = p.parse_args(argv)
    # journald adds the time and unit: log level and module only.
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load(args.config)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        app = App(config)
        try:
            app.start()
            app.run(stop)
        finally:
            app.stop()
    except StartupError as exc:
        raise CommandError(str(exc), status=1) from None
    except (OSError, ValueError) as exc:
        # Configuration is validated before this point; anything left is the host
        # (a full disk, a device file). One line for the journal, not a traceback.
        log.exception("cannot start")
        raise CommandError(f"cannot start: {exc}", status=1) from None
    return 0
