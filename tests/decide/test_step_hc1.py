"""An EU DCC through the real scan step: QR frame, verifier with both formats, outbox, lights."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory
from support.hc1 import NOW, dsc, hc1, partial_vaccination, rule_set, signer_list

from scanner.camera.base import Frame
from scanner.decide.debounce import DebounceConfig, Debouncer
from scanner.decide.decode import Decoder
from scanner.decide.hc1 import Hc1Format
from scanner.decide.step import ScanStep
from scanner.decide.verify import Verifier
from scanner.demo import samples
from scanner.formats.qrimage import render_qr
from scanner.lights.gpio import GpioIndicator
from scanner.lights.signals import LightsConfig
from scanner.outbox.queue import Outbox
from scanner.trust.bundle import parse_bundle
from scanner.trust.clock import PinnedClock
from scanner.trust.dcc_store import DccTrust
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

GREEN, RED = 17, 27
LIGHTS = LightsConfig(green_pin=GREEN, red_pin=RED, accept_hold_s=5.0, reject_hold_s=5.0)
FACTORY = MockFactory()
BUILT = samples.build(NOW)


@pytest.fixture
def step(tmp_path: Path) -> Iterator[tuple[ScanStep, Outbox]]:
    FACTORY.reset()
    bundle = parse_bundle(BUILT.bundle, BUILT.keys.root.verify_key)
    trust = TrustSnapshot(bundle, RevocationSet.empty(), 0)
    signer = dsc()
    dcc = DccTrust(signers=signer_list(signer), rules=rule_set())
    indicator = GpioIndicator(LIGHTS, FACTORY)
    outbox = Outbox(tmp_path / "state")
    verifier = Verifier(
        lambda: trust, PinnedClock(NOW), formats=[Hc1Format(lambda: dcc, lambda: trust)]
    )
    scan = ScanStep(
        decoder=Decoder(),
        debouncer=Debouncer(DebounceConfig(gap_s=10.0)),
        verifier=verifier,
        indicator=indicator,
        outbox=outbox,
        device_id="cp-test",
        checkpoint_id="CP-TEST",
    )
    yield scan, outbox
    indicator.close()
    outbox.close()
    FACTORY.reset()


def frame(text: bytes) -> Frame:
    gray = np.full((720, 960), 200, dtype=np.uint8)
    code = render_qr(text.decode(), scale=4)
    y, x = (720 - code.shape[0]) // 2, (960 - code.shape[1]) // 2
    gray[y : y + code.shape[0], x : x + code.shape[1]] = code
    return Frame(gray=gray, timestamp=time.monotonic(), sequence=0)


def bodies(outbox: Outbox) -> list[str]:
    db = sqlite3.connect(outbox.path)
    try:
        return [body for (body,) in db.execute("SELECT body FROM events ORDER BY seq")]
    finally:
        db.close()


def test_a_dcc_turns_the_light_green_and_logs_a_hashed_pass_id(
    step: tuple[ScanStep, Outbox],
) -> None:
    scan, outbox = step
    (decision,) = scan.process(frame(hc1(dsc())))
    assert decision.verdict.accepted, decision.verdict.reason
    assert any(s.state for s in FACTORY.pin(GREEN).states)
    (body,) = bodies(outbox)
    event = json.loads(body)
    assert event["format"] == "hc1"
    assert event["pass_id"] == decision.verdict.pass_id
    # Never the certificate identifier, the name or the date of birth.
    for secret in ("URN:UVCI", "CHECKPOINT/TEST", "Nguy", "NGUYEN", "1990-04-01"):
        assert secret not in body


def test_a_failed_rule_is_red_with_the_rule_in_the_event(step: tuple[ScanStep, Outbox]) -> None:
    scan, outbox = step
    (decision,) = scan.process(frame(hc1(dsc(), partial_vaccination())))
    assert decision.verdict.reason is not None
    assert decision.verdict.reason.value == "rule_failed"
    assert any(s.state for s in FACTORY.pin(RED).states)
    event = json.loads(bodies(outbox)[0])
    assert (event["reason"], event["rule_id"], event["format"]) == (
        "rule_failed",
        "VR-VN-0001",
        "hc1",
    )


def test_a_cp1_pass_still_goes_to_cp1_beside_hc1(step: tuple[ScanStep, Outbox]) -> None:
    scan, outbox = step
    (decision,) = scan.process(frame(BUILT.by_name("valid").text.encode()))
    assert decision.verdict.accepted
    assert json.loads(bodies(outbox)[0])["format"] == "cp1"
