"""`bench frames`: the whole decode step against the bare zxing-cpp call on camera-sized frames."""

from __future__ import annotations

import json
import time

import numpy as np
import zxingcpp

from scanner.bench.targets import Target, judged, lines
from scanner.camera.synthetic import background, render_code
from scanner.cli.kit import command, echo
from scanner.cli.kit import parser as kit_parser
from scanner.decide.decode import Decoder
from scanner.decide.verify import verify_text
from scanner.demo.samples import build
from scanner.model import ClockState
from scanner.trust.bundle import parse_bundle
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
SIZES = ((640, 480), (1280, 720))
NOW = 1_764_547_200


def sample_trust() -> tuple[str, TrustSnapshot]:
    """A real signed pass and the trust snapshot that accepts it at NOW."""
    samples = build(NOW)
    bundle = parse_bundle(samples.bundle, samples.keys.root.verify_key)
    return samples.by_name("valid").text, TrustSnapshot(bundle, RevocationSet.empty(), 0)


def frames(text: str, seed: int = 0) -> dict[str, np.ndarray]:
    """The benchmark's frames: for each size, a scene without a code and one with a pass."""
    out: dict[str, np.ndarray] = {}
    for w, h in SIZES:
        out[f"{w}x{h}_empty"] = background((w, h), seed)
        out[f"{w}x{h}_code"] = render_code(text, (w, h), seed)
    return out


def verdict_ms(gray: np.ndarray, decoder: Decoder, trust: TrustSnapshot, iterations: int) -> float:
    """Median ms from frame to verdict: the decode step, then verification of what it read."""
    times: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        result = decoder.decode(gray)
        verdicts = [verify_text(c.content, trust, NOW, ClockState.SYNCED) for c in result.codes]
        times.append(time.perf_counter() - start)
        if not verdicts or not verdicts[0].accepted:
            raise RuntimeError("the benchmark's pass was not read and accepted")
    return float(np.median(times)) * 1000.0


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


@command
def main(argv: list[str]) -> int:
    """Run `bench frames`: the decode step and bare call on camera-sized frames."""
    parser = kit_parser("checkpoint-scanner bench frames", (__doc__ or "").split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=300, help="frames timed per case")
    parser.add_argument("--seed", type=int, default=0, help="which synthetic scene")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    decoder = Decoder()
    text, trust = sample_trust()
    report: dict[str, dict[str, float]] = {}
    for name, gray in frames(text, args.seed).items():
        report[name] = compare(gray, decoder, max(1, args.iterations))
        if name.endswith("_code"):
            # Target: the verdict within the bare decode time plus 2 ms.
            verdict = verdict_ms(gray, decoder, trust, max(1, args.iterations))
            report[name]["verdict_ms_p50"] = round(verdict, 4)
            report[name]["verdict_minus_bare_ms"] = round(verdict - report[name]["bare_ms_p50"], 4)
    # Empty frames cost at most 15 % over bare zxing-cpp; a verdict, bare + 2 ms.
    targets = [Target(f"{n}.ratio", "<=", 1.15) for n in report if n.endswith("_empty")]
    targets += [
        Target(f"{n}.verdict_minus_bare_ms", "<=", 2) for n in report if n.endswith("_code")
    ]
    result = judged(report, targets)
    if args.json:
        echo(json.dumps(result, indent=2))
    else:
        for name, r in report.items():
            echo(f"{name:>16}  {r['ms_p50']} ms  bare {r['bare_ms_p50']} ms  x{r['ratio']}")
        echo("\n".join(lines(result)))
    return 0
