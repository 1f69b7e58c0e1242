"""A full disk does not close the checkpoint: the verdict shows, the unit says it could not
log, and what it could not log goes in when there is room again (a real EFBIG, in a child)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from scanner.camera.base import Frame
from scanner.decide.debounce import DebounceConfig, Debouncer
from scanner.decide.decode import Decoder
from scanner.decide.step import LogTrouble, ScanStep
from scanner.decide.verify import Verifier
from scanner.demo import samples
from scanner.errors import OutboxFullError
from scanner.formats.qrimage import render_qr
from scanner.lights.gpio import GpioIndicator
from scanner.lights.signals import LightsConfig
from scanner.model import ClockState
from scanner.outbox.events import EventKind, OutboxEvent
from scanner.outbox.queue import MIN_MAX_BYTES, Outbox
from scanner.trust.bundle import parse_bundle
from scanner.trust.clock import PinnedClock
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

CHILD = Path(__file__).parent.parent / "support" / "full_disk_child.py"
NOW = 1_796_083_200
LIGHTS = LightsConfig(green_pin=17, red_pin=27, accept_hold_s=5.0, reject_hold_s=5.0)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    state = tmp_path_factory.mktemp("state")
    env = {**os.environ, "PYTHONPATH": str(CHILD.parent.parent)}
    done = subprocess.run(
        [sys.executable, str(CHILD), str(state)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    result["stderr"] = done.stderr
    return result


def test_every_verdict_still_shows_while_the_disk_is_full(report: dict[str, Any]) -> None:
    assert report["before"] == [True]
    expired, valid, expired_again = report["full"]
    assert expired == {"logged": [False], "lit": {"green": False, "red": True}}
    assert valid == {"logged": [False], "lit": {"green": True, "red": False}}
    assert expired_again["lit"] == {"green": False, "red": True}


def test_the_unit_is_degraded_with_could_not_log_until_the_disk_recovers(
    report: dict[str, Any],
) -> None:
    assert report["unlogged"] == 3
    assert report["reasons"] == ["log_failed"]
    assert report["state"] == "degraded"
    assert report["troubles"] == [[1, "storage_error"]]  # told once, not per scan
    assert report["flush_while_full"] is False
    assert "could not log" in report["stderr"]


def test_held_decisions_are_committed_in_order_when_there_is_room_again(
    report: dict[str, Any],
) -> None:
    assert report["flush_after"] is True
    assert report["recovered"] == [[3, 0, "storage_error"]]
    assert report["unlogged_after"] == 0
    assert report["after"] == [True]
    assert report["stored"] == ["accept", "reject", "accept", "reject", "accept"]


def test_the_ring_is_bounded_and_counts_what_it_lost(tmp_path: Path) -> None:
    """A full outbox (no telemetry left to shed): the ring keeps the newest, counts the rest."""
    sample_set = samples.build(NOW)
    bundle = parse_bundle(sample_set.bundle, sample_set.keys.root.verify_key)
    trust = TrustSnapshot(bundle, RevocationSet.empty(), 0)
    recovered: list[LogTrouble] = []
    with Outbox(tmp_path, max_bytes=MIN_MAX_BYTES) as outbox:
        filler = OutboxEvent(EventKind.ALERT, "cp-test", "CP-TEST", 0.0, ClockState.SYNCED)
        seqs = []
        with contextlib.suppress(OutboxFullError):
            while True:
                seqs.append(outbox.record(filler))
        with GpioIndicator(LIGHTS, MockFactory()) as indicator:
            step = ScanStep(
                decoder=Decoder(),
                debouncer=Debouncer(DebounceConfig(gap_s=0.001)),
                verifier=Verifier(lambda: trust, PinnedClock(NOW)),
                indicator=indicator,
                outbox=outbox,
                device_id="cp-test",
                checkpoint_id="CP-TEST",
                on_log_recovered=recovered.append,
                held_max=2,
            )
            names = ("valid", "expired", "revoked")
            logged = [d.logged for n in names for d in step.process(_frame(sample_set, n))]
            assert logged == [False, False, False]
            assert step.unlogged == 3  # two held, one lost
            outbox.ack(seqs)  # the uplink delivered the backlog: room again
            assert step.flush_held()
    assert [(t.held, t.lost, t.reason) for t in recovered] == [(2, 1, "outbox_full")]


def _frame(sample_set: samples.SampleSet, name: str) -> Frame:
    gray = np.full((480, 640), 200, dtype=np.uint8)
    code = render_qr(sample_set.by_name(name).text, scale=4)
    y, x = (480 - code.shape[0]) // 2, (640 - code.shape[1]) // 2
    gray[y : y + code.shape[0], x : x + code.shape[1]] = code
    return Frame(gray=gray, timestamp=time.monotonic(), sequence=0)
