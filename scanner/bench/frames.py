"""`bench frames`: the whole decode step against the bare zxing-cpp call on camera-sized frames."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import zxingcpp

from scanner.camera.synthetic import background, render_code
from scanner.decode import Decoder

QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
SIZES = ((640, 480), (1280, 720))
PASS_TEXT = "HC1:" + "NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH" * 4  # about the length of a pass


def frames(seed: int = 0) -> dict[str, np.ndarray]:
    """The benchmark's frames: for each size, a scene without a code and one with a pass."""
    out: dict[str, np.ndarray] = {}
    for w, h in SIZES:
        out[f"{w}x{h}_empty"] = background((w, h), seed)
        out[f"{w}x{h}_code"] = render_code(PASS_TEXT, (w, h), seed)
    return out


def compare(gray: np.ndarray, decoder: Decoder, iterations: int) -> dict[str, float]:
    """Median ms of `decoder.decode` and of the bare call, interleaved on the same frame."""
    ours: list[float] = []
    bare: list[float] = []
    for i in range(iterations):
        for side in ("ours", "bare") if i % 2 == 0 else ("bare", "ours"):
            start = time.perf_counter()
            if side == "ours":
                decoder.decode(gray)
                ours.append(time.perf_counter() - start)
            else:
                zxingcpp.read_barcodes(gray, formats=QR)
                bare.append(time.perf_counter() - start)
    ours_ms = float(np.median(ours)) * 1000.0
    bare_ms = float(np.median(bare)) * 1000.0
    return {
        "ms_p50": round(ours_ms, 4),
        "bare_ms_p50": round(bare_ms, 4),
        "ratio": round(ours_ms / bare_ms, 3) if bare_ms > 0 else 0.0,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="checkpoint-scanner bench frames")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0, help="which synthetic scene")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    decoder = Decoder()
    report = {
        name: compare(gray, decoder, max(1, args.iterations))
        for name, gray in frames(args.seed).items()
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, r in report.items():
            print(f"{name:>16}  {r['ms_p50']} ms  bare {r['bare_ms_p50']} ms  x{r['ratio']}")
    return 0
