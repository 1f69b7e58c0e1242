"""The scan step with real parts: decoder, verifier, outbox file and gpiozero mock pins."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from scanner.camera.base import Frame
from scanner.decide.debounce import DebounceConfig, Debouncer
from scanner.decide.decode import Decoder
from scanner.decide.step import ScanStep
from scanner.decide.verify import Verifier
from scanner.demo import samples
from scanner.formats.qrimage import render_qr
from scanner.lights.gpio import GpioIndicator
from scanner.lights.signals import LightsConfig
from scanner.outbox.queue import Outbox
from scanner.trust.bundle import parse_bundle
from scanner.trust.clock import PinnedClock
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import parse_update
from scanner.trust.snapshot import TrustSnapshot

NOW = 1_796_083_200
GREEN, RED = 17, 27
LIGHTS = LightsConfig(green_pin=GREEN, red_pin=RED, accept_hold_s=5.0, reject_hold_s=5.0)


FACTORY = MockFactory()


def ever_lit(pin: int) -> bool:
    """Whether the lamp on `pin` has been on at any moment (gpiozero's mock pin history)."""
    return any(state.state for state in FACTORY.pin(pin).states)


@pytest.fixture(autouse=True)
def fresh_pins() -> Iterator[None]:
    FACTORY.reset()
    yield
    FACTORY.reset()


@pytest.fixture(scope="module")
def sample_set() -> samples.SampleSet:
    return samples.build(NOW)


@pytest.fixture
def step(
    sample_set: samples.SampleSet, tmp_path: Path
) -> Iterator[tuple[ScanStep, GpioIndicator, Outbox]]:
    bundle = parse_bundle(sample_set.bundle, sample_set.keys.root.verify_key)
    update = parse_update(sample_set.revocations, bundle.revocation_key)
    trust = TrustSnapshot(bundle, RevocationSet.from_ids(update.added), update.serial)
    indicator = GpioIndicator(LIGHTS, FACTORY)
    outbox = Outbox(tmp_path / "state")
    scan = ScanStep(
        decoder=Decoder(),
        debouncer=Debouncer(DebounceConfig(gap_s=10.0)),
        verifier=Verifier(lambda: trust, PinnedClock(NOW)),
        indicator=indicator,
        outbox=outbox,
        device_id="cp-test",
        checkpoint_id="CP-TEST",
    )
    yield scan, indicator, outbox
    indicator.close()
    outbox.close()


def frame(big: str, small: str | None = None, at: float = 0.0) -> Frame:
    """A 640x480 frame: `big` presented in the centre, `small` in a corner if given."""
    gray = np.full((480, 640), 200, dtype=np.uint8)
    code = render_qr(big, scale=4)
    y, x = (480 - code.shape[0]) // 2, (640 - code.shape[1]) // 2
    gray[y : y + code.shape[0], x : x + code.shape[1]] = code
    if small is not None:
        corner = render_qr(small, scale=2)
        gray[: corner.shape[0], : corner.shape[1]] = corner
    return Frame(gray=gray, timestamp=time.monotonic() + at, sequence=0)


def kinds(outbox: Outbox) -> list[tuple[str, str | None, str | None]]:
    db = sqlite3.connect(outbox.path)
    try:
        rows = db.execute("SELECT body FROM events ORDER BY seq").fetchall()
    finally:
        db.close()
    docs = [json.loads(body) for (body,) in rows]
    return [(d["kind"], d.get("outcome"), d.get("pass_id")) for d in docs]


def test_a_code_entering_a_corner_cannot_turn_the_light_for_the_pass_presented(
    step: tuple[ScanStep, GpioIndicator, Outbox], sample_set: samples.SampleSet
) -> None:
    scan, _, outbox = step
    revoked, valid = sample_set.by_name("revoked").text, sample_set.by_name("valid").text
    first = scan.process(frame(revoked))
    assert [d.verdict.reason.value for d in first if d.verdict.reason] == ["revoked"]
    assert ever_lit(RED)
    both = scan.process(frame(revoked, small=valid, at=0.1))
    # The valid pass in the corner is verified and logged, but the light stays red.
    assert [(d.verdict.accepted, d.primary) for d in both] == [(True, False)]
    assert not ever_lit(GREEN)
    assert kinds(outbox) == [("scan", "reject", "P-000666"), ("scan", "accept", "P-000001")]


def test_the_primary_code_decides_when_two_new_codes_arrive_together(
    step: tuple[ScanStep, GpioIndicator, Outbox], sample_set: samples.SampleSet
) -> None:
    scan, _, outbox = step
    revoked, valid = sample_set.by_name("revoked").text, sample_set.by_name("valid").text
    decisions = scan.process(frame(revoked, small=valid))
    assert [(d.verdict.pass_id, d.primary) for d in decisions] == [
        ("P-000666", True),
        ("P-000001", False),
    ]
    assert ever_lit(RED)
    assert not ever_lit(GREEN)
    assert len(kinds(outbox)) == 2  # both committed, in one transaction, before the light


def test_a_test_card_is_audited_as_an_alert_and_never_logged_as_a_scan(
    step: tuple[ScanStep, GpioIndicator, Outbox], sample_set: samples.SampleSet
) -> None:
    scan, _, outbox = step
    decisions = scan.process(frame(sample_set.by_name("test-card").text))
    assert decisions[0].verdict.accepted
    assert kinds(outbox) == [("alert", None, "T-TECH-01")]
    db = sqlite3.connect(outbox.path)
    try:
        (body,) = db.execute("SELECT body FROM events").fetchone()
    finally:
        db.close()
    assert json.loads(body)["code"] == "test_card"
    assert "TEST CARD" not in body  # the holder line of a card is never logged either


@pytest.mark.parametrize(("at", "outcome"), [(NOW, "accept"), (NOW + 40 * 86400, "reject")])
def test_a_test_card_accepted_or_refused_is_an_alert_never_a_scan(
    sample_set: samples.SampleSet, tmp_path: Path, at: int, outcome: str
) -> None:
    bundle = parse_bundle(sample_set.bundle, sample_set.keys.root.verify_key)
    trust = TrustSnapshot(bundle, RevocationSet.empty(), 0)
    with GpioIndicator(LIGHTS, FACTORY) as indicator, Outbox(tmp_path / "state") as outbox:
        scan = ScanStep(
            decoder=Decoder(),
            debouncer=Debouncer(DebounceConfig(gap_s=10.0)),
            verifier=Verifier(lambda: trust, PinnedClock(at)),
            indicator=indicator,
            outbox=outbox,
            device_id="cp-test",
            checkpoint_id="CP-TEST",
        )
        (decision,) = scan.process(frame(sample_set.by_name("test-card").text))
        assert decision.verdict.test_card
        assert decision.verdict.outcome.value == outcome
        db = sqlite3.connect(outbox.path)
        rows = [json.loads(b) for (b,) in db.execute("SELECT body FROM events").fetchall()]
        db.close()
    assert [(r["kind"], r.get("code"), r["detail"]["outcome"]) for r in rows] == [
        ("alert", "test_card", outcome)
    ]
