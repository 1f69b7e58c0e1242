"""Self-test checks that need the unit's hardware: lamps, camera, the test card, decode speed."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

# A lamp test needs each output alone, which no signal pattern gives, so gpiozero
# is driven directly here, beside (not through) the GpioIndicator adapter.
from gpiozero import LED, Buzzer
from gpiozero.exc import GPIOZeroError

from scanner.app import build_source
from scanner.bench.device import PacedFrames
from scanner.bench.device import run as bench_run
from scanner.camera.config import SyntheticConfig
from scanner.camera.synthetic import SyntheticSource
from scanner.cli.kit import echo
from scanner.config.load import Config
from scanner.decide.decode import Decoder
from scanner.decide.verify import verify_text
from scanner.display.backends import open_display
from scanner.display.screen import Kind
from scanner.errors import SourceError, StartupError
from scanner.formats.qrimage import render_qr
from scanner.lights.gpio import GpioIndicator, LampState
from scanner.lights.signals import LightsConfig, Signal, signal_for
from scanner.model import ClockState, PassKind
from scanner.trust.snapshot import TrustSnapshot

DISPLAY_WAIT_S = 3.0  # a draw takes milliseconds; an I2C panel at 100 kHz about 0.1 s


@dataclass
class Check:
    """One line of the technician's checklist."""

    name: str
    status: str  # pass | fail | skip | warn
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The check as a JSON object for the report."""
        out: dict[str, Any] = {"name": self.name, "status": self.status, "detail": self.detail}
        if self.data:
            out["data"] = self.data
        return out


def _ask(question: str) -> bool | None:
    """y/n from the technician on a TTY; None when nobody can answer."""
    if not sys.stdin.isatty():
        return None
    # The question on stderr: stdout may be the JSON report (or, under the service's
    # sandbox, the report the parent selftest reads).
    echo(f"{question} [y/n] ", err=True, end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer.startswith("y")


def lights(config: LightsConfig, confirm: bool, factory: Any, mock: bool) -> Check:
    """Each lamp (and the buzzer) on alone for a second, in turn."""
    parts = [("green", config.green_pin), ("red", config.red_pin)]
    parts += [(n, p) for n, p in (("amber", config.amber_pin), ("buzzer", config.buzzer_pin)) if p]
    cycled = []
    try:
        for name, pin in parts:
            kind = Buzzer if name == "buzzer" else LED
            high = config.buzzer_active_high if name == "buzzer" else config.active_high
            with kind(pin, active_high=high, pin_factory=factory) as device:
                device.on()
                if not mock:
                    threading.Event().wait(1.0)  # long enough to see; nothing to stop early
                if device.is_active:
                    cycled.append(name)
                device.off()
    except GPIOZeroError as exc:
        return Check("lights", "fail", f"cannot drive the pins ({exc}); is the service running?")
    if mock:
        return Check("lights", "skip", "mock pins: not tested", {"cycled": cycled})
    if not confirm:
        return Check("lights", "warn", "lamps cycled; not confirmed (run with --confirm)")
    answer = _ask(f"Did {', '.join(cycled)} come on one after the other?")
    if answer is None:
        return Check("lights", "warn", "lamps cycled; no terminal to confirm on")
    return Check("lights", "pass" if answer else "fail", "confirmed by the technician")


def rate(config: Config) -> float:
    """The frame rate the configured camera runs at."""
    camera = config.camera
    if camera.source == "picamera2":
        return camera.picamera2.fps
    if camera.source == "synthetic" and camera.synthetic is not None:
        return camera.synthetic.fps
    return camera.opencv.fps or 15.0


def camera(config: Config, seconds: float) -> Check:
    """Frames at the configured rate, with brightness and sharpness of the last one."""
    if config.camera.source == "picamera2" and importlib.util.find_spec("picamera2") is None:
        return Check("camera", "skip", "no camera: picamera2 is not installed (not a Pi)")
    try:
        source = build_source(config.camera)
        source.open()
    except (SourceError, StartupError) as exc:
        return Check("camera", "fail", f"camera does not open: {exc}")
    frames, last = 0, None
    start = time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            last = source.read().gray
            frames += 1
    except SourceError as exc:
        return Check("camera", "fail", f"camera stopped delivering frames: {exc}")
    finally:
        source.close()
    wanted = rate(config)
    fps = frames / (time.monotonic() - start)
    assert last is not None
    data = {
        "fps": round(fps, 1),
        "fps_configured": wanted,
        "brightness": round(float(last.mean()), 1),
        # Variance of the Laplacian: low means blurred (focus, dirt on the lens).
        "sharpness": round(float(cv2.Laplacian(last, cv2.CV_64F).var()), 1),
    }
    good = fps >= 0.9 * wanted and 30 <= data["brightness"] <= 225
    return Check("camera", "pass" if good else "warn", f"{fps:.1f} fps of {wanted:g}", data)


def test_card(
    text: str,
    trust: TrustSnapshot,
    *,
    now: int,
    clock: ClockState,
    lights_config: LightsConfig,
    factory: Any,
    own_keys: bool,
) -> Check:
    """Render, decode and verify a test card; show its light pattern. Nothing is recorded."""
    image = render_qr(text)
    found = Decoder().decode(np.ascontiguousarray(image)).codes
    if not found:
        return Check("test_card", "fail", "the rendered test card did not decode")
    verdict = verify_text(found[0].content, trust, now, clock)
    if not verdict.accepted or verdict.info is None or verdict.info.kind is not PassKind.TEST:
        reason = verdict.reason.value if verdict.reason else "not a test card"
        return Check("test_card", "fail", f"test card rejected: {reason}")
    signal = signal_for(verdict)
    seen: list[LampState] = []
    with GpioIndicator(lights_config, factory, on_change=seen.append) as indicator:
        indicator.show(signal)
        shown = indicator.lamps()
    data = {"pass_id": verdict.info.pass_id, "signal": signal.value, "lamps": _lamps(shown)}
    if signal is not Signal.TEST_CARD or not seen:
        return Check("test_card", "fail", "test card did not show its own light pattern", data)
    if not own_keys:
        detail = "no test card installed: the built-in sample verified against its own keys"
        return Check("test_card", "warn", detail, data)
    return Check("test_card", "pass", f"{verdict.info.pass_id} verified; TEST_CARD shown", data)


def display(
    config: Config, text: str, trust: TrustSnapshot, *, now: int, clock: ClockState
) -> Check:
    """Draw the test card's screen (the display's test pattern) on the configured display."""
    if config.display.backend == "none":
        return Check("display", "skip", "no display configured")
    verdict = verify_text(text.encode(), trust, now, clock)
    drawn = threading.Event()
    faults: list[str] = []
    screen = open_display(
        config.display,
        label=config.device.label or config.device.checkpoint_id,
        on_fault=faults.append,
        # The verdict's screen, not the ready screen the display starts with: closing
        # after that one would leave the test pattern undrawn on a slow panel.
        on_drawn=lambda shown: drawn.set() if shown.kind is Kind.VERDICT else None,
    )
    try:
        screen.show(verdict)
        shown = drawn.wait(DISPLAY_WAIT_S)
    finally:
        screen.close()
    where = f"{config.display.backend} display"
    if faults:
        return Check("display", "fail", f"{where}: {', '.join(faults)}")
    if not shown:
        return Check("display", "fail", f"{where}: nothing drawn within {DISPLAY_WAIT_S:g} s")
    return Check("display", "pass", f"test pattern drawn on the {where}; check it by eye")


def _lamps(state: LampState) -> dict[str, bool | None]:
    return {"green": state.green, "red": state.red, "amber": state.amber, "buzzer": state.buzzer}


def decode_speed(text: str, fps: float, seconds: float) -> Check:
    """The on-device bench: grab, decode and debounce at the configured rate for a while."""
    synthetic = SyntheticSource(SyntheticConfig((text,), fps=fps))
    frames = [synthetic.render(i) for i in range(synthetic.length)]
    report = bench_run(PacedFrames(frames, fps), seconds, fps)
    achieved = float(str(report["fps_decoded"]))
    status = "pass" if report["ok"] else "fail" if achieved < 0.5 * fps else "warn"
    detail = f"{achieved:g} of {fps:g} fps, decode p95 {report['decode_ms_p95']} ms"
    return Check("decode_speed", status, detail, report)


def read_card(path: Path | None, fallback: Callable[[], str]) -> tuple[str, bool]:
    """The test card's QR text from `path` if it exists, else the built-in sample."""
    if path is not None and path.exists():
        return path.read_text(encoding="utf-8").strip(), True
    return fallback(), False
