"""The on-device trust store: provisioning, start-up and anti-rollback bundles."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.trust_store import bundle_bytes, leftovers, reopen, update_bytes

from scanner.demo import samples
from scanner.errors import (
    BundleError,
    BundleRollbackError,
    TrustStoreError,
)
from scanner.formats.cose import deterministic_dumps, sign1
from scanner.trust.store import BUNDLE_FILE, REVOCATIONS_FILE, TrustStore

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
    foreign = bundle_bytes(keys, 1, root=SigningKey.generate())
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
        reopen(store_dir, keys)


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
    store.apply_revocations(update_bytes(keys, 1, ["P-000001", "P-000002"]))
    path = store_dir / REVOCATIONS_FILE
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    # Failing open would read as "nothing revoked" and turn revoked passes green.
    with pytest.raises(TrustStoreError):
        reopen(store_dir, keys)


def test_store_refuses_to_start_with_a_truncated_bundle_file(
    store_dir: Path, keys: samples.SampleKeys
) -> None:
    path = store_dir / BUNDLE_FILE
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(TrustStoreError):
        reopen(store_dir, keys)


# --- bundles -------------------------------------------------------------------------


def test_newer_bundle_is_installed_and_persisted(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    installed = store.install_bundle(bundle_bytes(keys, 2))
    assert installed.version == 2
    assert store.snapshot().bundle.version == 2
    assert reopen(store_dir, keys).snapshot().bundle.version == 2


def test_bundle_may_skip_versions(store: TrustStore, keys: samples.SampleKeys) -> None:
    assert store.install_bundle(bundle_bytes(keys, 7)).version == 7


@pytest.mark.parametrize("version", [1, 2])
def test_older_or_equal_bundle_is_refused_and_the_current_one_kept(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys, version: int
) -> None:
    store.install_bundle(bundle_bytes(keys, 2))
    on_disk = (store_dir / BUNDLE_FILE).read_bytes()
    with pytest.raises(BundleRollbackError):
        store.install_bundle(bundle_bytes(keys, version))
    assert store.snapshot().bundle.version == 2
    assert (store_dir / BUNDLE_FILE).read_bytes() == on_disk
    assert reopen(store_dir, keys).snapshot().bundle.version == 2


def test_rollback_error_is_a_bundle_error(store: TrustStore, keys: samples.SampleKeys) -> None:
    with pytest.raises(BundleError):
        store.install_bundle(bundle_bytes(keys, 1))


def test_bundle_signed_by_another_root_is_refused_and_the_current_one_kept(
    store: TrustStore, store_dir: Path, keys: samples.SampleKeys
) -> None:
    on_disk = (store_dir / BUNDLE_FILE).read_bytes()
    with pytest.raises(BundleError):
        store.install_bundle(bundle_bytes(keys, 5, root=SigningKey.generate()))
    assert store.snapshot().bundle.version == 1
    assert (store_dir / BUNDLE_FILE).read_bytes() == on_disk


def test_bundle_signed_by_an_issuer_key_is_refused(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    with pytest.raises(BundleError):
        store.install_bundle(bundle_bytes(keys, 5, root=keys.issuer))


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
        data = bundle_bytes(keys, 5)[:-30]
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
    store.install_bundle(bundle_bytes(keys, 2))
    store.install_bundle(bundle_bytes(keys, 3))
    with pytest.raises(BundleError):
        store.install_bundle(bundle_bytes(keys, 3))
    assert leftovers(store_dir) == []


def test_new_bundle_keeps_the_revocations_already_applied(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    store.apply_revocations(update_bytes(keys, 1, ["P-000666"]))
    store.install_bundle(bundle_bytes(keys, 2))
    snapshot = store.snapshot()
    assert "P-000666" in snapshot.revoked
    assert snapshot.revocation_serial == 1


def test_snapshot_taken_before_an_install_is_unchanged_by_it(
    store: TrustStore, keys: samples.SampleKeys
) -> None:
    before = store.snapshot()
    store.install_bundle(bundle_bytes(keys, 2))
    assert before.bundle.version == 1
