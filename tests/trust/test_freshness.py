"""Revocation freshness: fresh, stale, gapped; on verdicts, in health (lights) and heartbeats."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.downlink import Central

from scanner.decide.verify import Policy, verify_text
from scanner.demo import samples
from scanner.lights.signals import DeviceState
from scanner.model import ClockState, Fill, Health, RevocationState, TrustState
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.clock import PinnedClock
from scanner.trust.freshness import RevocationRecord
from scanner.trust.revocation_update import RevocationGapError, encode_update
from scanner.trust.store import TrustStore
from scanner.uplink.commands import CommandGate
from scanner.uplink.downlink import Downlink
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage

NOW = 1_796_083_200
DAY = 86400
POLICY = Policy(revocations_stale_after_s=2 * DAY, revocations_gap_grace_s=600)


@pytest.fixture(scope="module")
def keys() -> samples.SampleKeys:
    return samples.SampleKeys(*(SigningKey.generate() for _ in range(5)))


def _bundle(keys: samples.SampleKeys, version: int, revocation: SigningKey | None = None) -> bytes:
    return encode_bundle(
        keys.root,
        version=version,
        issued_at=NOW - DAY + version,
        expires_at=NOW + 365 * DAY,
        issuers=[IssuerKey(keys.issuer.verify_key, 0, NOW + 365 * DAY)],
        revocation_key=(revocation or keys.revocation).verify_key,
    )


def _update(
    key: SigningKey, serial: int, added: list[str], *, at: int = NOW, snapshot: bool = False
) -> bytes:
    return encode_update(key, serial=serial, issued_at=at, added=added, snapshot=snapshot)


def _message(kind: DownlinkKind, payload: bytes) -> DownlinkMessage:
    return DownlinkMessage(kind, f"checkpoint/v1/trust/{kind.value}", payload, retained=False)


@pytest.fixture
def store(tmp_path: Path, keys: samples.SampleKeys) -> TrustStore:
    TrustStore.initialise(tmp_path / "trust", keys.root.verify_key, _bundle(keys, 1))
    return TrustStore(tmp_path / "trust", keys.root.verify_key)


def _state(store: TrustStore, now: int) -> RevocationState:
    return store.snapshot().revocation_state(
        now, POLICY.revocations_stale_after_s, POLICY.revocations_gap_grace_s
    )


def test_a_unit_with_no_update_yet_is_stale_not_fresh(store: TrustStore) -> None:
    assert store.snapshot().state(NOW) is TrustState.FRESH  # the bundle alone says fresh
    assert _state(store, NOW) is RevocationState.STALE


def test_fresh_after_an_update_and_stale_once_none_came_for_the_set_time(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(_update(keys.revocation, 1, ["P-1"]), NOW)
    assert _state(store, NOW + DAY) is RevocationState.FRESH
    assert _state(store, NOW + 2 * DAY + 1) is RevocationState.STALE


def test_a_missing_numbered_update_turns_gapped_after_the_grace_and_catch_up_heals_it(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(_update(keys.revocation, 1, ["P-1"]), NOW)
    with pytest.raises(RevocationGapError):
        store.apply_revocations(_update(keys.revocation, 3, ["P-3"]), NOW)
    assert _state(store, NOW + 599) is RevocationState.FRESH
    assert _state(store, NOW + 600) is RevocationState.GAPPED
    store.apply_revocations(_update(keys.revocation, 2, ["P-2"]), NOW + 700)
    assert _state(store, NOW + 700) is RevocationState.GAPPED  # 3 is still missing
    store.apply_revocations(_update(keys.revocation, 3, ["P-3"]), NOW + 800)
    assert _state(store, NOW + 800) is RevocationState.FRESH


def test_the_gap_survives_a_restart(
    store: TrustStore, keys: samples.SampleKeys, tmp_path: Path
) -> None:
    store.apply_revocations(_update(keys.revocation, 1, ["P-1"]), NOW)
    with pytest.raises(RevocationGapError):
        store.apply_revocations(_update(keys.revocation, 5, ["P-5"]), NOW)
    reopened = TrustStore(tmp_path / "trust", keys.root.verify_key)
    assert _state(reopened, NOW + DAY) is RevocationState.GAPPED
    assert reopened.snapshot().revocation.newest_seen == 5


def test_a_revocation_key_rotation_is_explicit_keeps_what_was_revoked_and_waits_for_a_snapshot(
    store: TrustStore, keys: samples.SampleKeys, tmp_path: Path
) -> None:
    central = Central()
    gate = CommandGate("cp-x", tmp_path / "command-seq")
    downlink = Downlink(store, gate, PinnedClock(NOW), central.downlink_actions())
    for serial in range(1, 6):
        store.apply_revocations(_update(keys.revocation, serial, [f"P-{serial}"]), NOW)
    rotated = SigningKey.generate()
    downlink.handle(_message(DownlinkKind.TRUST_BUNDLE, _bundle(keys, 2, rotated)))
    assert "revocation_key_rotated" in central.alert_codes
    assert central.catchups[-1] == (2, 0)
    assert _state(store, NOW) is RevocationState.GAPPED
    assert "P-3" in store.snapshot().revoked  # fail closed until the new line says otherwise
    # Serial 1 of the new key is not "already applied": without a snapshot it is a gap.
    downlink.handle(_message(DownlinkKind.REVOCATIONS, _update(rotated, 1, ["P-9"])))
    assert "revocation_gap" in central.alert_codes
    assert "P-9" not in store.snapshot().revoked
    snapshot = _update(rotated, 1, ["P-3", "P-9"], snapshot=True)
    downlink.handle(_message(DownlinkKind.REVOCATIONS, snapshot))
    assert _state(store, NOW) is RevocationState.FRESH
    assert "P-9" in store.snapshot().revoked
    assert "P-1" not in store.snapshot().revoked


def test_every_verdict_carries_the_revocation_state(store: TrustStore) -> None:
    verdict = verify_text(b"not a pass", store.snapshot(), NOW, ClockState.SYNCED, POLICY)
    assert verdict.revocations is RevocationState.STALE


def test_revocations_not_fresh_make_the_unit_degraded_for_the_lights() -> None:
    healthy = Health(
        True, TrustState.FRESH, ClockState.SYNCED, Fill.OK, revocations=RevocationState.FRESH
    )
    gapped = Health(
        True, TrustState.FRESH, ClockState.SYNCED, Fill.OK, revocations=RevocationState.GAPPED
    )
    assert healthy.state is DeviceState.IDLE
    assert gapped.state is DeviceState.DEGRADED
    assert gapped.reasons == ("revocations_gapped",)


def test_a_damaged_record_is_refused_by_load(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text('{"serial": "x"}')
    with pytest.raises(ValueError, match="serials"):
        RevocationRecord.load(tmp_path / "r.json")
