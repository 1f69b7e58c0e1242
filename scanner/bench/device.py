"""`bench device`: on the Pi, confirm the scan loop holds its frame rate under half a core."""

from __future__ import annotations

import json
import threading
import time

import numpy as np

from scanner.camera.base import Frame, FrameSource
from scanner.camera.config import PicamConfig, SyntheticConfig
from scanner.camera.latest import FrameGrabber
from scanner.camera.picam import PicamSource
from scanner.camera.synthetic import SyntheticSource
from scanner.cli.kit import command, echo
from scanner.cli.kit import parser as kit_parser
from scanner.decide.debounce import Debouncer
from scanner.decide.decode import Decoder
from scanner.errors import SourceError

CPU_LIMIT = 0.5  # cores: the rest is for verification, uplink and the OS


class PacedFrames:
    """Pre-rendered frames replayed at `fps`, so the measurement holds the scan loop only."""

    def __init__(self, frames: list[np.ndarray], fps: float) -> None:
        self._frames = frames
        self._period = 1.0 / fps
        self._closing = threading.Event()
        self._index = 0
        self._next_at = 0.0

    def open(self) -> None:
        """Start the frame clock from now."""
        self._closing.clear()
        self._index = 0
        self._next_at = time.monotonic()

    def read(self) -> Frame:
        """The next frame, paced to the configured rate."""
        delay = self._next_at - time.monotonic()
        if delay > 0 and self._closing.wait(delay):
            raise SourceError("closed")
        self._next_at = max(self._next_at + self._period, time.monotonic())
        gray = self._frames[self._index % len(self._frames)]
        frame = Frame(gray, time.monotonic(), self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        """Wake a waiting read so it ends."""
        self._closing.set()


def run(source: FrameSource, seconds: float, fps: float) -> dict[str, object]:
    """Run grab -> decode -> debounce for `seconds` and report rate and CPU use."""
    decoder, debouncer = Decoder(), Debouncer()
    grabber = FrameGrabber(source, name="bench-grabber")
    times: list[float] = []
    decisions = 0
    grabber.start()
    wall0, cpu0 = time.monotonic(), time.process_time()
    try:
        while time.monotonic() - wall0 < seconds:
            frame = grabber.next_frame(1.0)
            if frame is None:
                continue
            result = decoder.decode(frame.gray)
            times.append(result.elapsed_ms)
            decisions += len(debouncer.feed([c.content for c in result.codes], frame.timestamp))
    finally:
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        grabber.stop()
    cores = cpu / wall if wall > 0 else 0.0
    achieved = len(times) / wall if wall > 0 else 0.0
    return {
        "fps_target": fps,
        "fps_decoded": round(achieved, 2),
        "frames": len(times),
        "dropped": grabber.slot.dropped,
        "decisions": decisions,
        "decode_ms_p50": round(float(np.percentile(times, 50)), 3) if times else None,
        "decode_ms_p95": round(float(np.percentile(times, 95)), 3) if times else None,
        "cpu_cores": round(cores, 3),
        "ok": achieved >= 0.95 * fps and cores < CPU_LIMIT,
    }


@command
def main(argv: list[str]) -> int:
    """Run `bench device`: the scan loop's frame rate and CPU share on a Pi."""
    parser = kit_parser("checkpoint-scanner bench device", (__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--source",
        choices=("synthetic", "picam"),
        default="synthetic",
        help="frames from the synthetic camera or the Pi camera",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to run")
    parser.add_argument("--fps", type=float, default=15.0, help="the frame rate to hold")
    parser.add_argument("--json", action="store_true", help="print JSON only (always JSON)")
    args = parser.parse_args(argv)
    source: FrameSource
    if args.source == "picam":
        source = PicamSource(PicamConfig(fps=args.fps))
    else:
        texts = ("HC1:" + "NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH" * 4,)
        synthetic = SyntheticSource(SyntheticConfig(texts, fps=args.fps))
        frames = [synthetic.render(i) for i in range(synthetic.length)]
        source = PacedFrames(frames, args.fps)
    try:
        report = run(source, args.seconds, args.fps)
    except SourceError as e:
        echo(json.dumps({"error": str(e)}))
        return 1
    echo(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1
