"""Runs the scan step on a state directory whose disk fills up: RLIMIT_FSIZE stands in
for a full SD card (every write past the limit fails with EFBIG, as ENOSPC would).

Run as a child process, since the limit holds for the whole process: prints one
JSON line with what the officer saw and what the outbox held at each stage.
"""

from __future__ import annotations

import json
import resource
import signal
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
from gpiozero.pins.mock import MockFactory

from scanner.camera.base import Frame
from scanner.decide.debounce import DebounceConfig, Debouncer
from scanner.decide.decode import Decoder
from scanner.decide.step import LogTrouble, ScanStep
from scanner.decide.verify import Verifier
from scanner.demo import samples
from scanner.formats.qrimage import render_qr
from scanner.lights.gpio import GpioIndicator
from scanner.lights.signals import LightsConfig
from scanner.model import ClockState, Fill, Health, TrustState
from scanner.outbox.queue import Outbox
from scanner.trust.bundle import parse_bundle
from scanner.trust.clock import PinnedClock
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

NOW = 1_796_083_200
GREEN, RED = 17, 27


def frame(text: str) -> Frame:
    gray = np.full((480, 640), 200, dtype=np.uint8)
    code = render_qr(text, scale=4)
    y, x = (480 - code.shape[0]) // 2, (640 - code.shape[1]) // 2
    gray[y : y + code.shape[0], x : x + code.shape[1]] = code
    return Frame(gray=gray, timestamp=time.monotonic(), sequence=0)


def main(state: Path) -> None:
    sample_set = samples.build(NOW)
    bundle = parse_bundle(sample_set.bundle, sample_set.keys.root.verify_key)
    trust = TrustSnapshot(bundle, RevocationSet.empty(), 0)
    factory = MockFactory()
    lights = LightsConfig(green_pin=GREEN, red_pin=RED, accept_hold_s=5.0, reject_hold_s=5.0)
    indicator = GpioIndicator(lights, factory)
    outbox = Outbox(state)
    troubles: list[LogTrouble] = []
    recovered: list[LogTrouble] = []
    step = ScanStep(
        decoder=Decoder(),
        debouncer=Debouncer(DebounceConfig(gap_s=0.001)),
        verifier=Verifier(lambda: trust, PinnedClock(NOW)),
        indicator=indicator,
        outbox=outbox,
        device_id="cp-test",
        checkpoint_id="CP-TEST",
        on_log_trouble=troubles.append,
        on_log_recovered=recovered.append,
    )
    valid, expired = sample_set.by_name("valid").text, sample_set.by_name("expired").text
    report: dict[str, object] = {}
    report["before"] = [d.logged for d in step.process(frame(valid))]

    # The disk is full from here: no file of this process may grow past 1 byte.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))
    full = []
    for text in (expired, valid, expired):
        decisions = step.process(frame(text))
        lamps = indicator.lamps()  # set before process returned: the verdict's light
        lit = {"green": lamps.green, "red": lamps.red}
        full.append({"logged": [d.logged for d in decisions], "lit": lit})
    report["full"] = full
    health = Health(True, TrustState.FRESH, ClockState.SYNCED, Fill.OK, step.unlogged)
    report["unlogged"] = step.unlogged
    report["reasons"] = list(health.reasons)
    report["state"] = health.state.value
    report["troubles"] = [(t.held, t.reason) for t in troubles]
    report["flush_while_full"] = step.flush_held()

    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # room again
    report["flush_after"] = step.flush_held()
    report["recovered"] = [(t.held, t.lost, t.reason) for t in recovered]
    report["unlogged_after"] = step.unlogged
    report["after"] = [d.logged for d in step.process(frame(valid))]
    indicator.close()
    outbox.close()
    db = sqlite3.connect(state / "outbox.sqlite3")
    rows = db.execute("SELECT body FROM events ORDER BY seq").fetchall()
    report["stored"] = [json.loads(body).get("outcome") for (body,) in rows]
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
