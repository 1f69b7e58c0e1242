"""Behaviour of the revocation set: membership, deltas, and its checksummed file."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.errors import RevocationFileError
from scanner.trust.revocation_set import RevocationSet, pass_id_key

# A small alphabet makes draws overlap, so adds, removes and lookups hit each other.
pass_ids = st.text(alphabet="P-0123", min_size=1, max_size=8)
id_sets = st.sets(pass_ids, max_size=40)


def _sample(n: int) -> list[str]:
    return [f"P-{i:06d}" for i in range(n)]


@given(revoked=id_sets, probes=id_sets)
def test_from_ids_holds_exactly_the_given_ids(revoked: set[str], probes: set[str]) -> None:
    revset = RevocationSet.from_ids(revoked)
    assert len(revset) == len(revoked)
    for pass_id in revoked | probes:
        assert (pass_id in revset) == (pass_id in revoked)


@given(start=id_sets, deltas=st.lists(st.tuples(id_sets, id_sets), max_size=5), probes=id_sets)
def test_apply_matches_a_python_set(
    start: set[str], deltas: list[tuple[set[str], set[str]]], probes: set[str]
) -> None:
    model = set(start)
    revset = RevocationSet.from_ids(start)
    for added, removed in deltas:
        revset = revset.apply(added, removed)
        model = (model - removed) | added
        assert len(revset) == len(model)
    for pass_id in model | probes | start:
        assert (pass_id in revset) == (pass_id in model)
    compact = revset.compacted()
    assert len(compact) == len(model)
    for pass_id in model | probes | start:
        assert (pass_id in compact) == (pass_id in model)


def test_apply_leaves_the_original_set_unchanged() -> None:
    old = RevocationSet.from_ids(["P-1", "P-2"])
    new = old.apply(["P-3"], ["P-1"])
    assert "P-1" in old
    assert "P-3" not in old
    assert len(old) == 2
    assert "P-1" not in new
    assert "P-3" in new


def test_removing_absent_ids_is_harmless() -> None:
    revset = RevocationSet.from_ids(["P-1", "P-2"])
    after = revset.apply([], ["P-404", "P-405"])
    assert len(after) == 2
    assert "P-1" in after
    assert "P-2" in after
    assert len(RevocationSet.empty().apply([], ["P-1"])) == 0


def test_an_id_both_added_and_removed_stays_revoked() -> None:
    # Fail-safe: if a delta is contradictory, the pass is refused.
    assert "P-1" in RevocationSet.empty().apply(["P-1"], ["P-1"])
    assert "P-1" in RevocationSet.from_ids(["P-1"]).apply(["P-1"], ["P-1"])


def test_non_strings_are_never_revoked() -> None:
    revset = RevocationSet.from_ids(["P-1"])
    assert b"P-1" not in revset
    assert pass_id_key("P-1") not in revset
    assert None not in revset


def test_empty_set_revokes_nothing() -> None:
    revset = RevocationSet.empty()
    assert len(revset) == 0
    assert "P-000001" not in revset


def test_a_large_set_finds_every_member_and_no_others() -> None:
    ids = _sample(50_000)
    revset = RevocationSet.from_ids(ids[::2])
    assert all(pass_id in revset for pass_id in ids[::2])
    assert not any(pass_id in revset for pass_id in ids[1::2])


def test_nbytes_stays_near_eight_bytes_per_entry() -> None:
    revset = RevocationSet.from_ids(_sample(100_000))
    assert revset.nbytes <= 9 * len(revset)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    ids = _sample(1000)
    revset = RevocationSet.from_ids(ids).apply(["P-extra"], ids[:10])
    path = tmp_path / "revoked.bin"
    revset.save(path, serial=42)
    loaded, serial = RevocationSet.load(path)
    assert serial == 42
    assert len(loaded) == len(revset)
    for pass_id in [*ids, "P-extra"]:
        assert (pass_id in loaded) == (pass_id in revset)


def test_empty_set_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "revoked.bin"
    RevocationSet.empty().save(path, serial=0)
    loaded, serial = RevocationSet.load(path)
    assert (len(loaded), serial) == (0, 0)


def test_save_replaces_the_old_file_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "revoked.bin"
    RevocationSet.from_ids(["P-1"]).save(path, serial=1)
    RevocationSet.from_ids(["P-2", "P-3"]).save(path, serial=2)
    assert [p.name for p in tmp_path.iterdir()] == ["revoked.bin"]
    loaded, serial = RevocationSet.load(path)
    assert serial == 2
    assert "P-1" not in loaded
    assert "P-3" in loaded


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "revoked.bin"
    RevocationSet.from_ids(_sample(100)).save(path, serial=7)
    return path


@pytest.mark.parametrize("keep", [0, 10, 56, 57, 56 + 8 * 50])
def test_truncated_file_is_refused(saved: Path, keep: int) -> None:
    saved.write_bytes(saved.read_bytes()[:keep])
    with pytest.raises(RevocationFileError):
        RevocationSet.load(saved)


def test_trailing_bytes_are_refused(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes() + b"\0" * 8)
    with pytest.raises(RevocationFileError, match="torn"):
        RevocationSet.load(saved)


@pytest.mark.parametrize("offset", [6, 8, 16, 30, 56, 56 + 8 * 99 + 7])
def test_flipped_byte_is_refused(saved: Path, offset: int) -> None:
    data = bytearray(saved.read_bytes())
    data[offset] ^= 0x01
    saved.write_bytes(bytes(data))
    with pytest.raises(RevocationFileError):
        RevocationSet.load(saved)


def test_wrong_magic_is_refused(saved: Path) -> None:
    saved.write_bytes(b"NOPE" + saved.read_bytes()[4:])
    with pytest.raises(RevocationFileError, match="magic"):
        RevocationSet.load(saved)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RevocationFileError, match="cannot read"):
        RevocationSet.load(tmp_path / "absent.bin")


def test_revocation_file_error_is_a_value_error() -> None:
    assert issubclass(RevocationFileError, ValueError)


def test_unsorted_keys_are_refused_even_with_a_valid_checksum(tmp_path: Path) -> None:
    # Written by hand to the documented layout: a buggy writer, not corruption.
    fields = struct.pack("<4sHHQQ", b"CPRV", 1, 0, 3, 2)
    body = struct.pack("<QQ", 2, 1)
    digest = hashlib.blake2b(fields + body, digest_size=32).digest()
    path = tmp_path / "revoked.bin"
    path.write_bytes(fields + digest + body)
    with pytest.raises(RevocationFileError, match="increasing"):
        RevocationSet.load(path)


def test_a_large_delta_is_folded_into_the_array() -> None:
    ids = _sample(80_000)
    revset = RevocationSet.from_ids(ids[:1000]).apply(ids[1000:], ids[:500])
    assert len(revset) == 79_500
    assert "P-000499" not in revset
    assert all(pass_id in revset for pass_id in ids[500:])
