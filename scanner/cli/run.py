"""`checkpoint-scanner run --config FILE`: the daemon, normally started by systemd."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Any

from scanner.cli.kit import CommandError, command, parser
from scanner.config.load import Config, load
from scanner.errors import ConfigError, LightsUnavailableError, StartupError
from scanner.lights.gpio import make_pin_factory

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
    factory = _real_pins(config)
    # Only now the rest of the daemon: OpenCV, numpy and zxing-cpp take seconds to
    # import on a Pi (a minute under emulation), and a unit without lamps refuses first.
    from scanner.app import App  # noqa: PLC0415 - after the pin check, on purpose

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        app = App(config, pin_factory=factory)
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


def _real_pins(config: Config) -> Any:
    """The real pins' factory, opened before anything else; None for configured mock pins.

    A unit configured for real pins whose pin factory fails must not start: each
    of systemd's restarts then refuses in about a second with the same one line,
    and StartLimitAction reboots it at the limit.
    """
    if config.lights.pins == "mock":
        return None  # the app opens them, and alerts that nothing lights
    try:
        return make_pin_factory(config.lights.pins)
    except LightsUnavailableError as exc:
        raise CommandError(f"lights: {exc}", status=1) from None
