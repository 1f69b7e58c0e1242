"""`checkpoint-scanner`: the device-side command; each subcommand is a `main(argv) -> int`."""

from __future__ import annotations

import sys

from scanner.cli.kit import dispatch

# name -> ("module:function", one line for --help); imported only when called, so
# that `--help` and a quick `check-config` do not load OpenCV or paho.
SUBCOMMANDS = {
    "run": ("scanner.cli.run:main", "the daemon: camera, lights, log and uplink (systemd runs it)"),
    "check-config": (
        "scanner.cli.check_config:main",
        "check a scanner.toml as `run` would, before any hardware is opened",
    ),
    "scan": ("scanner.cli.scan:main", "decode QR images or texts and verify the passes, offline"),
    "demo": ("scanner.cli.demo:main", "the real daemon on a synthetic camera, or --passes only"),
    "bench": ("scanner.bench:main", "measure against a reference and the target (see README)"),
    "render-display": (
        "scanner.cli.render_display:main",
        "draw what the officer's display would show, to a PNG",
    ),
    "conformance": (
        "scanner.conformance.cli:main",
        "run the EU DCC, rule and CertLogic test suites through the project's code",
    ),
}
DESCRIPTION = "The checkpoint unit: verify signed QR passes offline, log, and report over MQTT."


def main(argv: list[str] | None = None) -> int:
    """Run the `checkpoint-scanner` subcommand named in `argv` (sys.argv by default)."""
    args = sys.argv[1:] if argv is None else argv
    return dispatch("checkpoint-scanner", DESCRIPTION, SUBCOMMANDS, args)


if __name__ == "__main__":
    sys.exit(main())
