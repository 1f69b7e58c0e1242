"""The trust store's revocations: gapless serials, snapshots, key rotation, atomic files."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.trust_store import bundle_bytes, leftovers, reopen, update_bytes

from scanner.demo import samples
from scanner.errors import (
    RevocationGapError,
    RevocationUpdateError,
)
from scanner.trust.store import REVOCATIONS_FILE, TrustStore

# --- revocations ---------------------------------------------------------------------


def test_delta_on_serial_zero_applies_and_is_persisted(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    update = store.apply_revocations(update_bytes(keys, 1, ["P-000666", "P-000667"]))
    assert update.serial == 1
    snapshot = store.snapshot()
    assert snapshot.revocation_serial == 1
    assert "P-000666" in snapshot.revoked
    assert "P-000001" not in snapshot.revoked
    reopened = reopen(store_dir, keys).snapshot()
    assert reopened.revocation_serial == 1
    assert {"P-000666", "P-000667"} <= {
        p for p in ("P-000666", "P-000667") if p in reopened.revoked
    }
    assert len(reopened.revoked) == 2


def test_deltas_apply_in_sequence_adding_and_removing(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(update_bytes(keys, 1, ["P-1", "P-2"]))
    store.apply_revocations(update_bytes(keys, 2, ["P-3"], ["P-1"]))
    for snapshot in (store.snapshot(), reopen(store_dir, keys).snapshot()):
        assert snapshot.revocation_serial == 2
        assert "P-1" not in snapshot.revoked
        assert "P-2" in snapshot.revoked
        assert "P-3" in snapshot.revoked


@pytest.mark.parametrize("serial", [3, 1, 5])
def test_delta_that_does_not_follow_the_current_serial_is_a_gap_and_changes_nothing(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys, serial: int
) -> None:
    store.apply_revocations(update_bytes(keys, 1, ["P-1"]))
    on_disk = (store_dir / REVOCATIONS_FILE).read_bytes()
    with pytest.raises(RevocationGapError) as caught:
        store.apply_revocations(update_bytes(keys, serial, ["P-9"], ["P-1"]))
    assert caught.value.have == 1
    assert caught.value.got == serial
    snapshot = store.snapshot()
    assert snapshot.revocation_serial == 1
    assert "P-1" in snapshot.revoked
    assert "P-9" not in snapshot.revoked
    assert (store_dir / REVOCATIONS_FILE).read_bytes() == on_disk


def test_first_delta_must_be_serial_one(store: TrustStore, keys: samples.SampleKeys) -> None:
    with pytest.raises(RevocationGapError):
        store.apply_revocations(update_bytes(keys, 2, ["P-1"]))
    assert store.snapshot().revocation_serial == 0


def test_snapshot_update_replaces_the_whole_set_and_is_persisted(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(update_bytes(keys, 1, ["P-1", "P-2"]))
    store.apply_revocations(update_bytes(keys, 5, ["P-2", "P-7"], snapshot=True))
    for snapshot in (store.snapshot(), reopen(store_dir, keys).snapshot()):
        assert snapshot.revocation_serial == 5
        assert "P-1" not in snapshot.revoked
        assert "P-2" in snapshot.revoked
        assert "P-7" in snapshot.revoked
        assert len(snapshot.revoked) == 2


def test_snapshot_not_newer_than_the_current_serial_is_refused(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(update_bytes(keys, 1, ["P-1"]))
    with pytest.raises(RevocationGapError):
        store.apply_revocations(update_bytes(keys, 1, [], snapshot=True))
    assert "P-1" in store.snapshot().revoked


def test_delta_after_a_snapshot_follows_the_snapshot_serial(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(update_bytes(keys, 10, ["P-1"], snapshot=True))
    store.apply_revocations(update_bytes(keys, 11, ["P-2"]))
    assert store.snapshot().revocation_serial == 11
    assert "P-2" in store.snapshot().revoked


@pytest.mark.parametrize("signer", ["root", "issuer", "ops", "stranger"])
def test_update_signed_by_a_non_revocation_key_is_refused(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys, signer: str
) -> None:
    key = SigningKey.generate() if signer == "stranger" else getattr(keys, signer)
    with pytest.raises(RevocationUpdateError):
        store.apply_revocations(update_bytes(keys, 1, ["P-1"], key=key))
    assert store.snapshot().revocation_serial == 0
    assert not (store_dir / REVOCATIONS_FILE).exists()


def test_updates_follow_the_revocation_key_of_the_installed_bundle(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    new_revocation = SigningKey.generate()
    store.install_bundle(bundle_bytes(keys, 2, revocation=new_revocation))
    with pytest.raises(RevocationUpdateError):
        store.apply_revocations(update_bytes(keys, 1, ["P-1"]))
    # The new key numbers from 1 again: its line starts with a snapshot.
    store.apply_revocations(update_bytes(keys, 1, ["P-1"], key=new_revocation, snapshot=True))
    assert "P-1" in store.snapshot().revoked
    store.apply_revocations(update_bytes(keys, 2, ["P-2"], key=new_revocation))
    assert "P-2" in store.snapshot().revoked


def test_a_rotation_awaiting_its_snapshot_is_still_awaited_after_a_restart(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(update_bytes(keys, 1, ["P-1"]))
    store.apply_revocations(update_bytes(keys, 2, ["P-2"]))
    new_revocation = SigningKey.generate()
    store.install_bundle(bundle_bytes(keys, 2, revocation=new_revocation))
    reopened = reopen(store_dir, keys)
    snapshot = reopened.snapshot()
    # The file still holds the old key's serial 2; the new key's line starts at 0.
    assert snapshot.revocation.awaiting_snapshot
    assert snapshot.revocation_serial == 0
    assert "P-1" in snapshot.revoked  # fail closed until the new snapshot
    with pytest.raises(RevocationGapError):
        reopened.apply_revocations(update_bytes(keys, 1, ["P-9"], key=new_revocation))
    reopened.apply_revocations(update_bytes(keys, 1, ["P-7"], key=new_revocation, snapshot=True))
    snapshot = reopened.snapshot()
    assert (snapshot.revocation_serial, snapshot.revocation.awaiting_snapshot) == (1, False)
    assert "P-7" in snapshot.revoked
    assert "P-1" not in snapshot.revoked


@pytest.mark.parametrize("data", [pytest.param(b""), b"\x80", b"\xa0"])
def test_malformed_update_is_refused(
    store: TrustStore, keys: samples.SampleKeys, data: bytes
) -> None:
    with pytest.raises(RevocationUpdateError):
        store.apply_revocations(data)


def test_revocation_writes_leave_no_temp_files(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(update_bytes(keys, 1, ["P-1"]))
    store.apply_revocations(update_bytes(keys, 2, ["P-2"]))
    with pytest.raises(RevocationGapError):
        store.apply_revocations(update_bytes(keys, 4, ["P-4"]))
    assert leftovers(store_dir) == []
