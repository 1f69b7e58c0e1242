"""`checkpoint-scanner demo`: sample passes issued, rendered as QR images, scanned and verified."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2

from scanner.cli.kit import CommandError, command, echo, parser, print_json
from scanner.decide.decode import Decoder
from scanner.decide.hc1 import Hc1Format
from scanner.decide.verify import Verifier
from scanner.demo.dcc_samples import DccSample, build_dcc
from scanner.demo.samples import Sample, build
from scanner.formats.qrimage import render_qr
from scanner.trust.bundle import parse_bundle
from scanner.trust.clock import PinnedClock
from scanner.trust.dcc_rules import parse_rules
from scanner.trust.dcc_signers import parse_signers
from scanner.trust.dcc_store import DccTrust
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import parse_update
from scanner.trust.snapshot import TrustSnapshot


def passes_demo(directory: Path, as_json: bool) -> int:
    """Issue each kind of sample pass, render it to PNG, read it back from the image, verify."""
    now = int(time.time())
    samples = build(now)
    samples.write(directory)
    bundle = parse_bundle(samples.bundle, samples.keys.root.verify_key)
    update = parse_update(samples.revocations, bundle.revocation_key)
    snapshot = TrustSnapshot(bundle, RevocationSet.from_ids(update.added), update.serial)
    assert samples.keys.dcc is not None, "samples carry a dcc key"
    assert bundle.dcc_key is not None, "and their bundle names it"
    dcc_set = build_dcc(now, samples.keys.dcc)
    dcc = DccTrust(
        parse_signers(dcc_set.signers, bundle.dcc_key), parse_rules(dcc_set.rules, bundle.dcc_key)
    )
    hc1 = Hc1Format(lambda: dcc, lambda: snapshot)
    verifier = Verifier(lambda: snapshot, PinnedClock(now), formats=[hc1])
    shown: list[Sample | DccSample] = [*samples.samples, *dcc_set.samples]
    decoder = Decoder()
    mismatches = 0
    if not as_json:
        echo(f"sample passes in {directory} (keys are throwaway, made for this run)\n")
        echo(f"{'sample':<21}{'decoded':<9}{'verdict':<11}{'reason':<16}expected")
    for sample in shown:
        png = directory / f"{sample.name}.png"
        cv2.imwrite(str(png), render_qr(sample.text))
        image = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
        assert image is not None, f"{png} was just written"
        result = decoder.decode(image)
        texts = [c.content for c in result.codes]
        verdict = verifier.verify(texts[0]) if texts else None
        got = verdict.reason if verdict else None
        ok = verdict is not None and got == sample.reason
        mismatches += not ok
        row = {
            "sample": sample.name,
            "decoded": bool(texts),
            "verdict": verdict.label if verdict else None,
            "reason": got.value if got else None,
            "expected": _expected(sample),
            "decode_ms": round(result.elapsed_ms, 2),
        }
        if as_json:
            print_json(row)
        else:
            echo(
                f"{row['sample']:<21}{'yes' if texts else 'NO':<9}{row['verdict'] or '-':<11}"
                f"{row['reason'] or '-':<16}{row['expected']}{'' if ok else '   <-- MISMATCH'}"
            )
    if not as_json:
        echo(f"\n{len(shown) - mismatches}/{len(shown)} as expected")
    return 1 if mismatches else 0


def _expected(sample: Sample | DccSample) -> str:
    if sample.reason is not None:
        return sample.reason.value
    return "test_card" if sample.name == "test-card" else "accept"


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-scanner demo`: the scanner at work on sample passes."""
    p = parser("checkpoint-scanner demo", "Show the scanner at work on sample passes.")
    p.add_argument("--passes", action="store_true", help="only issue, render and verify samples")
    p.add_argument("--broker", help="mqtt://HOST:PORT (default: a private mosquitto, if installed)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds the daemon runs")
    p.add_argument(
        "--out",
        type=Path,
        help="keep the demo's files here (default: a temporary folder, kept for --passes)",
    )
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="the display's language")
    p.add_argument("--json", action="store_true", help="JSON on stdout, for machines")
    args = p.parse_args(argv)
    if args.duration <= 0:
        raise CommandError("--duration must be positive")
    if args.passes:
        # Kept: the point of --passes is the PNGs and texts it names, to scan again.
        directory = args.out or Path(tempfile.mkdtemp(prefix="checkpoint-passes-"))
        directory.mkdir(parents=True, exist_ok=True)
        return passes_demo(directory, args.json)
    with tempfile.TemporaryDirectory(prefix="checkpoint-demo-") as tmp:
        directory = args.out or Path(tmp)
        from scanner.demo.daemon import run_demo  # noqa: PLC0415 - loads paho and the App

        return run_demo(directory, args.broker, args.duration, args.json, args.lang)
