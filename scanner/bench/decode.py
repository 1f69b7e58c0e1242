"""`bench decode`: the decoder against the bare zxing-cpp call on a folder of labelled images."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np
import zxingcpp

from scanner.bench.targets import Target, judged, lines
from scanner.camera.images import load_gray
from scanner.cli.kit import command, echo
from scanner.cli.kit import parser as kit_parser
from scanner.decide.decode import Decoder
from scanner.errors import ImageError

SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})
# The reference: one bare call, QR only. Plain text mode costs the same as the default and
# keeps CR LF and ECI text intact, so both sides are compared with the .txt files alike.
QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def bare(gray: np.ndarray) -> list[zxingcpp.Barcode]:
    """Decode with the bare zxing-cpp call: the reference the decoder is held to."""
    return zxingcpp.read_barcodes(gray, formats=QR, text_mode=zxingcpp.TextMode.Plain)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile of `values`, 0 for none."""
    return float(np.percentile(values, q)) if values else 0.0


def _summary(rows: list[tuple[bool, bool, float, float]]) -> dict[str, float | int]:
    ours_ms = [r[2] for r in rows]
    bare_ms = [r[3] for r in rows]
    return {
        "images": len(rows),
        "decoded": sum(r[0] for r in rows),
        "bare_decoded": sum(r[1] for r in rows),
        "ms_p50": round(percentile(ours_ms, 50), 3),
        "ms_p95": round(percentile(ours_ms, 95), 3),
        "bare_ms_p50": round(percentile(bare_ms, 50), 3),
        "bare_ms_p95": round(percentile(bare_ms, 95), 3),
    }


def measure(path: Path, decoder: Decoder, repeat: int) -> tuple[bool, bool, float, float]:
    """Whether each side reads the expected text, and each side's median time in ms."""
    expected = path.with_suffix(".txt").read_bytes()  # binary: the texts keep CR LF
    gray = load_gray(path)
    ours_t: list[float] = []
    bare_t: list[float] = []
    ours_ok = bare_ok = False
    for i in range(repeat):
        # Interleave and alternate the order so caches and clocks favour neither side.
        for side in ("ours", "bare") if i % 2 == 0 else ("bare", "ours"):
            start = time.perf_counter()
            if side == "ours":
                codes = decoder.decode(gray).codes
                ours_t.append((time.perf_counter() - start) * 1000.0)
                ours_ok = any(c.text.encode() == expected for c in codes)
            else:
                found = bare(gray)
                bare_t.append((time.perf_counter() - start) * 1000.0)
                bare_ok = any(b.text.encode() == expected for b in found)
    return ours_ok, bare_ok, statistics.median(ours_t), statistics.median(bare_t)


@command
def main(argv: list[str]) -> int:
    """Run `bench decode`: decoder and bare call over a labelled corpus."""
    parser = kit_parser("checkpoint-scanner bench decode", (__doc__ or "").split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder of image + .txt pairs")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per image (median)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        echo(f"error: {args.corpus} is not a directory", err=True)
        return 2
    decoder = Decoder()
    folders: dict[str, list[tuple[bool, bool, float, float]]] = {}
    errors = 0
    dirs = [args.corpus, *sorted(p for p in args.corpus.rglob("*") if p.is_dir())]
    for folder in dirs:
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
        for path in images:
            if not path.with_suffix(".txt").is_file():
                continue
            try:
                row = measure(path, decoder, max(1, args.repeat))
            except ImageError as e:
                echo(f"error: {path.name}: {e}", err=True)
                errors += 1
                continue
            folders.setdefault(str(folder.relative_to(args.corpus)) or ".", []).append(row)
    every = [r for rows in folders.values() for r in rows]
    per_folder = {name: _summary(rows) for name, rows in folders.items()}
    total = _summary(every)
    report = judged(
        {"folders": per_folder, "total": total, "errors": errors},
        # The shared corpus's 113 photos: at least 110, and never fewer than bare zxing-cpp.
        [Target("total.decoded", ">=", 110), Target("total.decoded", ">=", total["bare_decoded"])],
    )
    if args.json:
        echo(json.dumps(report, indent=2))
    else:
        for name, s in [*per_folder.items(), ("total", total)]:
            echo(
                f"{name:>12}  {s['decoded']}/{s['images']} (bare {s['bare_decoded']})  "
                f"p50 {s['ms_p50']} ms  p95 {s['ms_p95']} ms  (bare p50 {s['bare_ms_p50']} ms)"
            )
        echo("\n".join(lines(report)))
    return 0
