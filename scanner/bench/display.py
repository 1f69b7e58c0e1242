"""`bench display`: what the officer display adds on the scan thread, and what a draw costs.

The scan thread's cost is one hand-off (`ScreenDisplay.show`), measured while
the display thread is busy drawing, so GIL contention is included; beside it,
a bare `Event.set()` as the floor and one pass verification for scale. Draw
times are compose + render for each backend (the OLED on luma's dummy device).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from scanner.bench.targets import Target, judged, lines
from scanner.cli.kit import CommandError, command, echo, parser, print_json
from scanner.decide.verify import verify_text
from scanner.demo.samples import build
from scanner.display.oled import OledSurface
from scanner.display.paint import paint
from scanner.display.screen import Locale, compose
from scanner.display.textview import render_text
from scanner.display.worker import ScreenDisplay
from scanner.model import ClockState, Verdict
from scanner.trust.bundle import parse_bundle
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import parse_update
from scanner.trust.snapshot import TrustSnapshot

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z


def _times_ms(fn: Callable[[], object], calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _verdicts() -> tuple[list[Verdict], Callable[[], object]]:
    sample_set = build(NOW)
    bundle = parse_bundle(sample_set.bundle, sample_set.keys.root.verify_key)
    update = parse_update(sample_set.revocations, bundle.revocation_key)
    snapshot = TrustSnapshot(bundle, RevocationSet.from_ids(update.added), update.serial)
    texts = [s.text.encode() for s in sample_set.samples]
    verdicts = [verify_text(t, snapshot, NOW, ClockState.SYNCED) for t in texts]
    valid = texts[0]
    return verdicts, lambda: verify_text(valid, snapshot, NOW, ClockState.SYNCED)


def _handoff_us(verdicts: list[Verdict], calls: int) -> list[float]:
    from luma.core.device import dummy  # type: ignore[import-untyped]  # noqa: PLC0415

    display = ScreenDisplay(
        OledSurface(dummy(width=128, height=64, mode="1")),
        Locale("vi", 420, "CP-HN-01"),
        clear_after_s=60.0,
    )
    pause = threading.Event()  # never set: a timed wait between scans, as frames arrive
    out = []
    try:
        for i in range(calls):
            verdict = verdicts[i % len(verdicts)]
            started = time.perf_counter()
            display.show(verdict)
            out.append((time.perf_counter() - started) * 1e6)
            pause.wait(0.002)
    finally:
        display.close()
    return out


@command
def main(argv: list[str]) -> int:
    """Run `bench display`: the display's cost on the scan thread and per draw."""
    p = parser("checkpoint-scanner bench display", __doc__ or "")
    p.add_argument("--calls", type=int, default=300, help="screens drawn per timing")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if args.calls < 10:
        raise CommandError("--calls: at least 10")
    try:
        from luma.core.device import dummy  # noqa: PLC0415
    except ImportError:
        raise CommandError("bench display needs the display extra (luma.oled)") from None
    verdicts, verify_one = _verdicts()
    locale = Locale("vi", 420, "CP-HN-01")
    oled = OledSurface(dummy(width=128, height=64, mode="1"))
    turn = iter(range(1 << 30))

    def console_once() -> None:
        # The console surface's whole draw: HDMI image and tty text view of one screen.
        screen = compose(verdicts[next(turn) % len(verdicts)], locale, NOW)
        paint(screen, (800, 480), "RGB")
        render_text(screen, 80, 25)

    def oled_once() -> None:
        oled.draw(compose(verdicts[next(turn) % len(verdicts)], locale, NOW))

    event = threading.Event()
    handoff = _handoff_us(verdicts, args.calls)
    ordered = sorted(handoff)
    result = {
        "handoff_us": round(statistics.median(handoff), 2),
        "handoff_p99_us": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        "handoff_max_us": round(ordered[-1], 2),
        "reference_event_set_us": round(
            statistics.median(_times_ms(event.set, args.calls)) * 1000, 2
        ),
        "render_ms_console": round(statistics.median(_times_ms(console_once, args.calls)), 3),
        "render_ms_oled": round(statistics.median(_times_ms(oled_once, args.calls)), 3),
        "verify_ms": round(statistics.median(_times_ms(verify_one, args.calls)), 3),
    }
    # The scan thread hands a verdict over in about an Event.set; a frame is 66 ms at 15 fps.
    report = judged(result, [Target("handoff_p99_us", "<", 1000)])
    if args.json:
        print_json(report)
    else:
        for key, value in result.items():
            echo(f"{key:<24}{value}")
        echo("\n".join(lines(report)))
    return 0
