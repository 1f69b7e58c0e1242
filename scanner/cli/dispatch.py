"""`checkpoint-scanner`: the device-side command; each subcommand is a `main(argv) -> int`."""

from __future__ import annotations

import importlib
import sys

# name -> module holding its main(argv); imported only when called, so that a
# quick `check-config` does not load OpenCV or paho.
SUBCOMMANDS = {
    "scan": "scanner.cli.scan",
    "bench": "scanner.bench",
    "demo": "scanner.cli.demo",
    "run": "scanner.app",
    "check-config": "scanner.config.load",
    "render-display": "scanner.cli.render_display",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in SUBCOMMANDS:
        print(f"usage: checkpoint-scanner {{{','.join(SUBCOMMANDS)}}} ...", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[args[0]])
    code: int = module.main(args[1:])
    return code


if __name__ == "__main__":
    sys.exit(main())
