"""``checkpoint-ops``: one subcommand per module, each a ``main(argv) -> int``."""

from __future__ import annotations

import importlib
import logging
import sys

from scanner.cli.kit import echo

COMMANDS = {
    "collect": ("ops.collect", "store device messages exactly once (and serve the dashboard)"),
    "dashboard": ("ops.dashboard.command", "serve the live fleet dashboard"),
    "simulate": ("ops.simulate", "run simulated devices through a collector and report"),
    "enroll": ("ops.enroll", "record a device's public key so its messages are accepted"),
    "quarantine": ("ops.quarantine", "list or replay messages kept because they were not stored"),
    "migrate": ("ops.migrate", "upgrade the ops database's schema in place"),
    "retention": ("ops.retention", "drop events older than --keep-days (whole partitions)"),
    "bench": ("ops.bench_ingest", "bench ingest: time the collector beside a bare insert"),
    "trace": ("ops.trace", "where a pass was seen, what went through a checkpoint, contacts"),
    "audit": ("ops.audit", "who ran which trace, when, with how many rows"),
    "user": ("ops.users", "add, list or remove dashboard and API users (tracer or ops)"),
    "bench-trace": ("ops.bench", "time the tracing queries over many synthetic scans"),
}


def main(argv: list[str] | None = None) -> int:
    """Run the `checkpoint-ops` subcommand named in `argv` (sys.argv by default)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        lines = [f"  {name:12} {text}" for name, (_, text) in COMMANDS.items()]
        echo("usage: checkpoint-ops COMMAND [options]\n\ncommands:\n" + "\n".join(lines))
        return 0 if args and args[0] in ("-h", "--help") else 2
    # stderr without timestamps: journald adds them.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(COMMANDS[args[0]][0])
    status: int = module.main(args[1:])
    return status


if __name__ == "__main__":
    sys.exit(main())
