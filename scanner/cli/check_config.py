"""`checkpoint-scanner check-config [FILE]`: the daemon's own validation of a scanner.toml.

Light on purpose: a technician runs it at the roadside, so it loads the
settings modules only, never OpenCV, numpy, zxing, paho or PyNaCl.
"""

from __future__ import annotations

from pathlib import Path

from scanner.cli.kit import CommandError, command, parser, print_json
from scanner.config.load import DEFAULT_PATH, effective, load
from scanner.errors import ConfigError


@command
def main(argv: list[str]) -> int:
    p = parser("checkpoint-scanner check-config", "Validate a scanner.toml and exit.")
    p.add_argument("file", type=Path, nargs="?", default=DEFAULT_PATH)
    p.add_argument("--print", action="store_true", help="print the effective configuration")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        config = load(args.file)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print_json({"ok": True, "file": str(args.file), "config": effective(config)})
    elif args.print:
        print_json(effective(config))
    else:
        print(f"{args.file}: OK (checkpoint {config.device.checkpoint_id}, "
              f"camera {config.camera.source}, mqtt {'on' if config.mqtt else 'off'})")  # fmt: skip
    return 0
