"""The on-device trust store: anti-rollback bundles, gapless revocations, atomic files."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from scanner.demo import samples
from scanner.errors import (
    BundleError,
    BundleRollbackError,
    RevocationGapError,
    RevocationUpdateError,
    TrustStoreError,
)
from scanner.formats.cose import deterministic_dumps, sign1
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.freshness import RECORD_FILE
from scanner.trust.revocation_build import OFFLOAD_BYTES
from scanner.trust.revocation_update import encode_update
from scanner.trust.store import BUNDLE_FILE, REVOCATIONS_FILE, TrustStore

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z
DAY = samples.DAY


@pytest.fixture(scope="module")
def keys() -> samples.SampleKeys:
    return samples.SampleKeys(*(SigningKey.generate() for _ in range(5)))


def _bundle(
    keys: samples.SampleKeys,
    version: int,
    *,
    root: SigningKey | None = None,
    revocation: SigningKey | None = None,
) -> bytes:
    return encode_bundle(
        root or keys.root,
        version=version,
        issued_at=NOW - DAY + version,
        expires_at=NOW + 365 * DAY,
        issuers=[IssuerKey(keys.issuer.verify_key, 0, NOW + 365 * DAY)],
        revocation_key=(revocation or keys.revocation).verify_key,
    )


def _update(
    keys: samples.SampleKeys,
    serial: int,
    added: list[str],
    removed: list[str] | None = None,
    *,
    snapshot: bool = False,
    key: SigningKey | None = None,
) -> bytes:
    return encode_update(
        key or keys.revocation,
        serial=serial,
        issued_at=NOW,
        added=added,
        removed=removed,
        snapshot=snapshot,
    )


@pytest.fixture
def store_dir(tmp_path: Path, keys: samples.SampleKeys) -> Path:
    directory = tmp_path / "trust"
    TrustStore.initialise(directory, keys.root.verify_key, _bundle(keys, 1))
    return directory


@pytest.fixture(params=["in-process", "child"])
def store(store_dir: Path, keys: samples.SampleKeys, request: pytest.FixtureRequest) -> TrustStore:
    # Every revocation test runs twice: built here, and built in the helper process
    # that large updates go to (offload_bytes=0 sends even a one-ID delta there).
    offload = {"in-process": OFFLOAD_BYTES, "child": 0}[request.param]
    return TrustStore(store_dir, keys.root.verify_key, offload_bytes=offload)


def _reopen(store_dir: Path, keys: samples.SampleKeys) -> TrustStore:
    return TrustStore(store_dir, keys.root.verify_key)


def _leftovers(directory: Path) -> list[str]:
    return sorted(
        p.name
        for p in directory.iterdir()
        if p.name not in {BUNDLE_FILE, REVOCATIONS_FILE, RECORD_FILE}
    )


# --- provisioning and start ----------------------------------------------------------


def test_initialised_store_starts_with_its_bundle_and_no_revocations(
    store: TrustStore,
) -> None:
    snapshot = store.snapshot()
    assert snapshot.bundle.version == 1
    assert snapshot.revocation_serial == 0
    assert len(snapshot.revoked) == 0


def test_initialise_refuses_a_bundle_from_another_root(
    tmp_path: Path, keys: samples.SampleKeys
) -> None:
    foreign = _bundle(keys, 1, root=SigningKey.generate())
    with pytest.raises(BundleError):
        TrustStore.initialise(tmp_path / "trust", keys.root.verify_key, foreign)
    assert not (tmp_path / "trust" / BUNDLE_FILE).exists()


def test_store_without_a_bundle_refuses_to_start(tmp_path: Path, keys: samples.SampleKeys) -> None:
    with pytest.raises(TrustStoreError):
        TrustStore(tmp_path, keys.root.verify_key)


def test_store_refuses_to_start_with_a_bundle_from_another_root(
    store_dir: Path, keys: samples.SampleKeys
) -> None:
    with pytest.raises(TrustStoreError):
        TrustStore(store_dir, SigningKey.generate().verify_key)


def test_store_refuses_to_start_with_a_corrupt_bundle_file(
    store_dir: Path, keys: samples.SampleKeys
) -> None:
    path = store_dir / BUNDLE_FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # one bit of the signature
    path.write_bytes(bytes(data))
    with pytest.raises(TrustStoreError):
        _reopen(store_dir, keys)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn write
        lambda data: data[:-1] + bytes([data[-1] ^ 0x80]),  # flipped bit in the body
        lambda data: b"JUNK" + data[4:],  # wrong magic
        lambda data: b"",
    ],
    ids=["torn", "bit-flip", "magic", "empty"],
)
def test_store_refuses_to_start_with_a_corrupt_revocations_file(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys, damage: object
) -> None:
    store.apply_revocations(_update(keys, 1, ["P-000001", "P-000002"]))
    path = store_dir / REVOCATIONS_FILE
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    # Failing open would read as "nothing revoked" and turn revoked passes green.
    with pytest.raises(TrustStoreError):
        _reopen(store_dir, keys)


# --- bundles -------------------------------------------------------------------------


def test_newer_bundle_is_installed_and_persisted(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    installed = store.install_bundle(_bundle(keys, 2))
    assert installed.version == 2
    assert store.snapshot().bundle.version == 2
    assert _reopen(store_dir, keys).snapshot().bundle.version == 2


def test_bundle_may_skip_versions(store: TrustStore, keys: samples.SampleKeys) -> None:
    assert store.install_bundle(_bundle(keys, 7)).version == 7


@pytest.mark.parametrize("version", [1, 2])
def test_older_or_equal_bundle_is_refused_and_the_current_one_kept(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys, version: int
) -> None:
    store.install_bundle(_bundle(keys, 2))
    on_disk = (store_dir / BUNDLE_FILE).read_bytes()
    with pytest.raises(BundleRollbackError):
        store.install_bundle(_bundle(keys, version))
    assert store.snapshot().bundle.version == 2
    assert (store_dir / BUNDLE_FILE).read_bytes() == on_disk
    assert _reopen(store_dir, keys).snapshot().bundle.version == 2


def test_rollback_error_is_a_bundle_error(store: TrustStore, keys: samples.SampleKeys) -> None:
    with pytest.raises(BundleError):
        store.install_bundle(_bundle(keys, 1))


def test_bundle_signed_by_another_root_is_refused_and_the_current_one_kept(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    on_disk = (store_dir / BUNDLE_FILE).read_bytes()
    with pytest.raises(BundleError):
        store.install_bundle(_bundle(keys, 5, root=SigningKey.generate()))
    assert store.snapshot().bundle.version == 1
    assert (store_dir / BUNDLE_FILE).read_bytes() == on_disk


def test_bundle_signed_by_an_issuer_key_is_refused(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    with pytest.raises(BundleError):
        store.install_bundle(_bundle(keys, 5, root=keys.issuer))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"TRUNCATED", id="truncated"),
        pytest.param(b"\xa0", id="cbor-map"),
        pytest.param(b"not cbor at all \xff", id="garbage"),
    ],
)
def test_malformed_bundle_is_refused_and_the_current_one_kept(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys, data: bytes
) -> None:
    on_disk = (store_dir / BUNDLE_FILE).read_bytes()
    if data == b"TRUNCATED":
        data = _bundle(keys, 5)[:-30]
    with pytest.raises(BundleError):
        store.install_bundle(data)
    assert store.snapshot().bundle.version == 1
    assert (store_dir / BUNDLE_FILE).read_bytes() == on_disk


def test_root_signed_object_that_is_not_a_bundle_is_refused(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    payload = deterministic_dumps({"type": "checkpoint-revocations", "version": 9})
    with pytest.raises(BundleError):
        store.install_bundle(sign1(payload, keys.root))


def test_bundle_installs_leave_no_temp_files(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    store.install_bundle(_bundle(keys, 2))
    store.install_bundle(_bundle(keys, 3))
    with pytest.raises(BundleError):
        store.install_bundle(_bundle(keys, 3))
    assert _leftovers(store_dir) == []


def test_new_bundle_keeps_the_revocations_already_applied(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(_update(keys, 1, ["P-000666"]))
    store.install_bundle(_bundle(keys, 2))
    snapshot = store.snapshot()
    assert "P-000666" in snapshot.revoked
    assert snapshot.revocation_serial == 1


def test_snapshot_taken_before_an_install_is_unchanged_by_it(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    before = store.snapshot()
    store.install_bundle(_bundle(keys, 2))
    assert before.bundle.version == 1


# --- revocations ---------------------------------------------------------------------


def test_delta_on_serial_zero_applies_and_is_persisted(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    update = store.apply_revocations(_update(keys, 1, ["P-000666", "P-000667"]))
    assert update.serial == 1
    snapshot = store.snapshot()
    assert snapshot.revocation_serial == 1
    assert "P-000666" in snapshot.revoked
    assert "P-000001" not in snapshot.revoked
    reopened = _reopen(store_dir, keys).snapshot()
    assert reopened.revocation_serial == 1
    assert {"P-000666", "P-000667"} <= {
        p for p in ("P-000666", "P-000667") if p in reopened.revoked
    }
    assert len(reopened.revoked) == 2


def test_deltas_apply_in_sequence_adding_and_removing(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(_update(keys, 1, ["P-1", "P-2"]))
    store.apply_revocations(_update(keys, 2, ["P-3"], ["P-1"]))
    for snapshot in (store.snapshot(), _reopen(store_dir, keys).snapshot()):
        assert snapshot.revocation_serial == 2
        assert "P-1" not in snapshot.revoked
        assert "P-2" in snapshot.revoked
        assert "P-3" in snapshot.revoked


@pytest.mark.parametrize("serial", [3, 1, 5])
def test_delta_that_does_not_follow_the_current_serial_is_a_gap_and_changes_nothing(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys, serial: int
) -> None:
    store.apply_revocations(_update(keys, 1, ["P-1"]))
    on_disk = (store_dir / REVOCATIONS_FILE).read_bytes()
    with pytest.raises(RevocationGapError) as caught:
        store.apply_revocations(_update(keys, serial, ["P-9"], ["P-1"]))
    assert caught.value.have == 1
    assert caught.value.got == serial
    snapshot = store.snapshot()
    assert snapshot.revocation_serial == 1
    assert "P-1" in snapshot.revoked
    assert "P-9" not in snapshot.revoked
    assert (store_dir / REVOCATIONS_FILE).read_bytes() == on_disk


def test_first_delta_must_be_serial_one(store: TrustStore, keys: samples.SampleKeys) -> None:
    with pytest.raises(RevocationGapError):
        store.apply_revocations(_update(keys, 2, ["P-1"]))
    assert store.snapshot().revocation_serial == 0


def test_snapshot_update_replaces_the_whole_set_and_is_persisted(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(_update(keys, 1, ["P-1", "P-2"]))
    store.apply_revocations(_update(keys, 5, ["P-2", "P-7"], snapshot=True))
    for snapshot in (store.snapshot(), _reopen(store_dir, keys).snapshot()):
        assert snapshot.revocation_serial == 5
        assert "P-1" not in snapshot.revoked
        assert "P-2" in snapshot.revoked
        assert "P-7" in snapshot.revoked
        assert len(snapshot.revoked) == 2


def test_snapshot_not_newer_than_the_current_serial_is_refused(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(_update(keys, 1, ["P-1"]))
    with pytest.raises(RevocationGapError):
        store.apply_revocations(_update(keys, 1, [], snapshot=True))
    assert "P-1" in store.snapshot().revoked


def test_delta_after_a_snapshot_follows_the_snapshot_serial(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(_update(keys, 10, ["P-1"], snapshot=True))
    store.apply_revocations(_update(keys, 11, ["P-2"]))
    assert store.snapshot().revocation_serial == 11
    assert "P-2" in store.snapshot().revoked


@pytest.mark.parametrize("signer", ["root", "issuer", "ops", "stranger"])
def test_update_signed_by_a_non_revocation_key_is_refused(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys, signer: str
) -> None:
    key = SigningKey.generate() if signer == "stranger" else getattr(keys, signer)
    with pytest.raises(RevocationUpdateError):
        store.apply_revocations(_update(keys, 1, ["P-1"], key=key))
    assert store.snapshot().revocation_serial == 0
    assert not (store_dir / REVOCATIONS_FILE).exists()


def test_updates_follow_the_revocation_key_of_the_installed_bundle(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    new_revocation = SigningKey.generate()
    store.install_bundle(_bundle(keys, 2, revocation=new_revocation))
    with pytest.raises(RevocationUpdateError):
        store.apply_revocations(_update(keys, 1, ["P-1"]))
    # The new key numbers from 1 again: its line starts with a snapshot.
    store.apply_revocations(_update(keys, 1, ["P-1"], key=new_revocation, snapshot=True))
    assert "P-1" in store.snapshot().revoked
    store.apply_revocations(_update(keys, 2, ["P-2"], key=new_revocation))
    assert "P-2" in store.snapshot().revoked


def test_a_rotation_awaiting_its_snapshot_is_still_awaited_after_a_restart(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(_update(keys, 1, ["P-1"]))
    store.apply_revocations(_update(keys, 2, ["P-2"]))
    new_revocation = SigningKey.generate()
    store.install_bundle(_bundle(keys, 2, revocation=new_revocation))
    reopened = _reopen(store_dir, keys)
    snapshot = reopened.snapshot()
    # The file still holds the old key's serial 2; the new key's line starts at 0.
    assert snapshot.revocation.awaiting_snapshot
    assert snapshot.revocation_serial == 0
    assert "P-1" in snapshot.revoked  # fail closed until the new snapshot
    with pytest.raises(RevocationGapError):
        reopened.apply_revocations(_update(keys, 1, ["P-9"], key=new_revocation))
    reopened.apply_revocations(_update(keys, 1, ["P-7"], key=new_revocation, snapshot=True))
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
    store.apply_revocations(_update(keys, 1, ["P-1"]))
    store.apply_revocations(_update(keys, 2, ["P-2"]))
    with pytest.raises(RevocationGapError):
        store.apply_revocations(_update(keys, 4, ["P-4"]))
    assert _leftovers(store_dir) == []


def test_store_refuses_to_start_with_a_truncated_bundle_file(
    store_dir: Path, keys: samples.SampleKeys
) -> None:
    path = store_dir / BUNDLE_FILE
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(TrustStoreError):
        _reopen(store_dir, keys)
