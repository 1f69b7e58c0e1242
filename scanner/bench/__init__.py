"""`checkpoint-scanner bench NAME`: benchmarks that print the project and a reference side by side.

Each benchmark is a module here with `main(argv) -> int`; they are imported only
when asked for, so a technician's `bench verify` does not load OpenCV.
"""

from __future__ import annotations

from scanner.cli.kit import dispatch

# name -> ("module:function", one line for --help, with the target it is held to).
BENCHES = {
    "verify": ("scanner.bench.verify:main", "pass verification beside bare Ed25519 (ratio <= 2.5)"),
    "revocations": (
        "scanner.bench.revocations:main",
        "revocation set size and speed (<= 16 B/entry, < 10 us lookup, < 2 s load)",
    ),
    "decode": ("scanner.bench.decode:main", "QR decoding of a photo corpus beside bare zxing-cpp"),
    "frames": ("scanner.bench.frames:main", "per-frame cost beside bare zxing-cpp (ratio <= 1.15)"),
    "device": (
        "scanner.bench.device:main",
        "frames/s and CPU on this unit (15 fps, < half a core)",
    ),
    "uplink": ("scanner.bench.uplink:main", "draining 100,000 events through MQTT (< 30 s)"),
    "display": ("scanner.bench.display:main", "drawing the officer's screens"),
    "downlink": (
        "scanner.bench.downlink:main",
        "PUBACK delay and frame time with and without a 1M-entry revocation apply",
    ),
}


def main(argv: list[str]) -> int:
    """Run the benchmark named by argv[0]; `--help` lists them."""
    description = "Benchmarks: each prints the project beside a reference, and its target."
    return dispatch("checkpoint-scanner bench", description, BENCHES, argv)
