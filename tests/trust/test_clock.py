"""The trusted clock: a floor that only moves forward, so a clock set back cannot revive a pass."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from support.waiting import wait_until

from scanner.decide.verify import Verifier
from scanner.demo import samples
from scanner.formats.cose import sign1
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import encode_claims
from scanner.model import ClockState, Holder, PassInfo, PassKind, Reason
from scanner.trust.bundle import parse_bundle
from scanner.trust.clock import PERSIST_EVERY, PinnedClock, TrustedClock
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z
DAY = samples.DAY
YEAR = 365 * DAY


class Wall:
    """The system clock, set by the test."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Sync:
    """NTP's verdict on the system clock, set by the test."""

    def __init__(self, synced: bool) -> None:
        self.synced = synced

    def __call__(self) -> bool:
        return self.synced


def _clock(path: Path, wall: float, synced: bool = False) -> tuple[TrustedClock, Wall, Sync]:
    w, s = Wall(wall), Sync(synced)
    return TrustedClock(path, synced=s, wall=w), w, s


@pytest.fixture
def floor_path(tmp_path: Path) -> Path:
    return tmp_path / "clock-floor"


def test_synced_clock_reports_synced_and_raises_the_floor(floor_path: Path) -> None:
    clock, _, _ = _clock(floor_path, NOW, synced=True)
    assert clock.now() == (NOW, ClockState.SYNCED)
    assert clock.floor == NOW
    assert floor_path.read_text().strip() == str(NOW)


def test_unsynced_clock_never_raises_the_floor(floor_path: Path) -> None:
    clock, wall, _ = _clock(floor_path, NOW)
    for t in (NOW, NOW + YEAR, NOW + 50 * YEAR):
        wall.t = t
        assert clock.now() == (t, ClockState.UNSYNCED)
    assert clock.floor == 0
    clock.flush()
    assert not floor_path.exists()


def test_clock_set_far_ahead_while_unsynced_does_not_expire_passes_for_good(
    floor_path: Path,
) -> None:
    clock, wall, _ = _clock(floor_path, NOW + 20 * YEAR)
    clock.now()
    wall.t = NOW  # the operator corrects the clock
    assert clock.now() == (NOW, ClockState.UNSYNCED)


def test_clock_set_back_a_year_reports_behind_and_returns_the_floor(floor_path: Path) -> None:
    clock, wall, sync = _clock(floor_path, NOW, synced=True)
    clock.now()
    wall.t, sync.synced = NOW - YEAR, False
    assert clock.now() == (NOW, ClockState.BEHIND)


def test_clock_behind_the_floor_is_behind_even_if_ntp_claims_sync(floor_path: Path) -> None:
    clock, wall, _ = _clock(floor_path, NOW, synced=True)
    clock.now()
    wall.t = NOW - DAY
    assert clock.now() == (NOW, ClockState.BEHIND)
    assert clock.floor == NOW


def test_floor_only_moves_forward(floor_path: Path) -> None:
    clock, _, _ = _clock(floor_path, 0)
    clock.observe(NOW)
    clock.observe(NOW - YEAR)
    assert clock.floor == NOW


def test_floor_is_persisted_and_reloaded_by_a_new_instance(floor_path: Path) -> None:
    first, _, _ = _clock(floor_path, NOW - YEAR)
    first.observe(NOW)
    second, _, _ = _clock(floor_path, NOW - YEAR)
    assert second.floor == NOW
    assert second.now() == (NOW, ClockState.BEHIND)


def test_small_floor_moves_are_persisted_on_flush(floor_path: Path) -> None:
    clock, _, _ = _clock(floor_path, 0)
    clock.observe(NOW)
    clock.observe(NOW + 60)  # under PERSIST_EVERY: kept in memory to spare the SD card
    assert TrustedClock(floor_path, synced=Sync(False), wall=Wall(0)).floor == NOW
    clock.flush()
    assert TrustedClock(floor_path, synced=Sync(False), wall=Wall(0)).floor == NOW + 60


def test_large_floor_moves_are_persisted_at_once(floor_path: Path) -> None:
    clock, _, _ = _clock(floor_path, 0)
    clock.observe(NOW)
    clock.observe(NOW + PERSIST_EVERY)
    assert TrustedClock(floor_path, synced=Sync(False), wall=Wall(0)).floor == NOW + PERSIST_EVERY


def test_floor_file_write_leaves_no_temp_files(floor_path: Path) -> None:
    clock, _, _ = _clock(floor_path, 0)
    clock.observe(NOW)
    clock.observe(NOW + PERSIST_EVERY)
    assert [p.name for p in floor_path.parent.iterdir()] == [floor_path.name]


def test_missing_floor_file_starts_at_zero_silently(
    floor_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        clock, _, _ = _clock(floor_path, NOW)
    assert clock.floor == 0
    assert not caplog.records


@pytest.mark.parametrize("content", [b"not a number\n", b"", b"\xff\xfe\x00", b"12.5e3"])
def test_corrupt_floor_file_starts_at_zero_with_a_warning(
    floor_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    floor_path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="scanner.trust.clock"):
        clock, _, _ = _clock(floor_path, NOW)
    assert clock.floor == 0
    assert clock.now() == (NOW, ClockState.UNSYNCED)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(floor_path) in warnings[0].getMessage()


def test_corrupt_floor_file_is_replaced_once_the_floor_rises(floor_path: Path) -> None:
    floor_path.write_text("garbage")
    clock, _, _ = _clock(floor_path, NOW, synced=True)
    clock.now()
    assert TrustedClock(floor_path, synced=Sync(False), wall=Wall(0)).floor == NOW


def test_unwritable_floor_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "missing-dir" / "clock-floor"
    clock, _, _ = _clock(path, NOW, synced=True)
    with caplog.at_level(logging.WARNING, logger="scanner.trust.clock"):
        assert clock.now() == (NOW, ClockState.SYNCED)
    assert clock.floor == NOW
    assert any("cannot persist" in r.getMessage() for r in caplog.records)


def test_pinned_clock_ignores_what_it_observes() -> None:
    clock = PinnedClock(NOW)
    clock.observe(NOW + YEAR)
    assert clock.now() == (NOW, ClockState.PINNED)


# --- end to end through the Verifier -------------------------------------------------


def _last_year_pass(sample_set: samples.SampleSet) -> bytes:
    """A genuine pass that was valid a year ago and expired ten months ago."""
    info = samples.sample_info(
        NOW - YEAR - 29 * DAY,
        pass_id="P-LASTYEAR",
        holder=Holder("NGUYEN VAN A", "1234"),
        expires_at=NOW - YEAR + 60 * DAY,
    )
    return qrtext.wrap(sign1(encode_claims(info), sample_set.keys.issuer)).encode()


@pytest.fixture(scope="module")
def sample_set() -> samples.SampleSet:
    return samples.build(NOW)


@pytest.fixture(scope="module")
def trust(sample_set: samples.SampleSet) -> TrustSnapshot:
    bundle = parse_bundle(sample_set.bundle, sample_set.keys.root.verify_key)
    return TrustSnapshot(bundle, RevocationSet.empty(), 0)


def test_last_year_pass_would_be_accepted_a_year_ago(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    # The control for the next test: without the floor, the clock set back revives it.
    verdict = Verifier(lambda: trust, PinnedClock(NOW - YEAR)).verify(_last_year_pass(sample_set))
    assert verdict.accepted


def test_clock_set_back_a_year_does_not_make_an_expired_pass_valid(
    sample_set: samples.SampleSet, trust: TrustSnapshot, floor_path: Path
) -> None:
    before_power_cut, _, _ = _clock(floor_path, NOW, synced=True)
    assert before_power_cut.now() == (NOW, ClockState.SYNCED)
    # After a power cut a Pi 4 (no RTC) boots a year in the past, without NTP.
    after_reboot, _, _ = _clock(floor_path, NOW - YEAR)
    verdict = Verifier(lambda: trust, after_reboot).verify(_last_year_pass(sample_set))
    assert verdict.reason is Reason.EXPIRED
    assert verdict.clock is ClockState.BEHIND
    assert verdict.now == NOW


def test_floor_from_a_verified_pass_keeps_an_expired_pass_expired_after_reboot(
    sample_set: samples.SampleSet, trust: TrustSnapshot, floor_path: Path
) -> None:
    # Never synced: only the signed iat of a scanned pass tells the clock the date.
    clock, _, _ = _clock(floor_path, NOW - YEAR)
    fresh = PassInfo(
        "P-TODAY", "VN-CP", b"", PassKind.TRAVEL, Holder("A", "1"), NOW, NOW, NOW + DAY
    )
    text = qrtext.wrap(sign1(encode_claims(fresh), sample_set.keys.issuer)).encode()
    verifier = Verifier(lambda: trust, clock)
    assert verifier.verify(text).reason is Reason.NOT_YET_VALID  # the clock is a year behind
    clock.flush()
    rebooted, _, _ = _clock(floor_path, NOW - YEAR)
    verdict = Verifier(lambda: trust, rebooted).verify(_last_year_pass(sample_set))
    assert verdict.reason is Reason.EXPIRED
    assert verdict.clock is ClockState.BEHIND


def test_in_background_the_floor_is_written_by_its_own_thread_and_flushed_on_stop(
    floor_path: Path,
) -> None:
    clock = TrustedClock(floor_path, synced=Sync(False), wall=Wall(0), background=True)
    clock.observe(NOW)
    # observe() on the scan thread only raised a flag; the "clock-floor" thread wrote.
    assert "clock-floor" in {t.name for t in threading.enumerate()}
    assert wait_until(lambda: floor_path.exists() and floor_path.read_text().strip() == str(NOW))
    clock.observe(NOW + 60)  # a small move: left for the flush
    clock.flush()
    assert floor_path.read_text().strip() == str(NOW + 60)
    assert "clock-floor" not in {t.name for t in threading.enumerate()}
    clock.observe(NOW + 2 * PERSIST_EVERY)  # after stop: written at once, on the caller
    assert floor_path.read_text().strip() == str(NOW + 2 * PERSIST_EVERY)
