"""`checkpoint-scanner bench NAME`: benchmarks that print the project and a reference side by side.

Each benchmark is a module here with `main(argv) -> int`; they are imported only
when asked for, so a technician's `bench verify` does not load OpenCV.
"""

from __future__ import annotations

import importlib
import sys

BENCHES = ("verify", "revocations", "decode", "frames", "device", "uplink", "display", "downlink")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        print(f"usage: checkpoint-scanner bench {{{','.join(BENCHES)}}} [options]", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(f"scanner.bench.{argv[0]}")
    except ModuleNotFoundError:
        print(f"error: benchmark {argv[0]!r} is not built yet", file=sys.stderr)
        return 2
    code: int = module.main(argv[1:])
    return code
