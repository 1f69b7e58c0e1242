"""The revocation set: which pass IDs are revoked, held compactly in memory and on disk."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os
import secrets
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from scanner.errors import RevocationFileError
from scanner.trust.files import fsync_dir

_Keys = npt.NDArray[np.uint64]

# A pass ID is reduced to a 64-bit key. Two IDs sharing a key make the unrevoked
# one read as revoked: with n revoked keys a given pass collides with probability
# ~n/2**64 (~5e-13 at 10M), and in the fail-safe direction (refuse, never admit).
# Removing an ID whose key collides with another revoked ID would un-revoke that
# one too; same probability, and removals only come from the signed issuer feed.
_KEY_BYTES: Final = 8

# File layout: header, then `count` little-endian uint64 keys in strictly
# increasing order. The digest covers the header fields and the body, so a torn
# write or a flipped bit anywhere is refused instead of silently un-revoking.
_MAGIC: Final = b"CPRV"
_VERSION: Final = 1
_FIELDS: Final = struct.Struct("<4sHHQQ")  # magic, version, reserved, serial, count
_DIGEST_BYTES: Final = 32
_HEADER_BYTES: Final = _FIELDS.size + _DIGEST_BYTES  # 56: keeps the body 8-byte aligned

# Deltas go into a small overlay (two frozensets) so `apply` costs O(delta), not a
# rewrite of the 80 MB array: a Pi 4 copies memory at a few GB/s, so a full merge
# alone would take most of the 100 ms budget. The overlay is folded into the
# sorted array once it passes this size (Python ints cost ~70 bytes each in a set).
_OVERLAY_MIN: Final = 1 << 16
_OVERLAY_SHARE: Final = 64  # fold when the overlay exceeds 1/64 of the array

_HASH_CHUNK: Final = 1 << 16


def pass_id_key(pass_id: str) -> int:
    """The 64-bit key under which `pass_id` is stored."""
    return int.from_bytes(
        hashlib.blake2b(pass_id.encode(), digest_size=_KEY_BYTES).digest(), "little"
    )


def _body_digest() -> hashlib.blake2b:
    # BLAKE2b rather than SHA-256: the Pi 4's Cortex-A72 (BCM2711) has no ARMv8
    # crypto extensions, so SHA-256 runs in software at a fraction of BLAKE2b's
    # speed; on x86 with SHA-NI the order flips (the bench prints both).
    return hashlib.blake2b(digest_size=_DIGEST_BYTES)


def _keys_of(ids: Iterable[str]) -> _Keys:
    """Keys of `ids`, unsorted, hashed in chunks so no list of all IDs is built."""
    blake2b = hashlib.blake2b
    parts: list[bytes] = []
    it: Iterator[str] = iter(ids)
    while chunk := list(itertools.islice(it, _HASH_CHUNK)):
        parts.append(
            b"".join([blake2b(s.encode(), digest_size=_KEY_BYTES).digest() for s in chunk])
        )
    return np.frombuffer(b"".join(parts), dtype="<u8").astype(np.uint64, copy=False)


def _sorted_unique(keys: _Keys) -> _Keys:
    # Not np.unique: numpy 2.x dedupes with a hash table first, ~10x slower than
    # a sort for 64-bit keys (0.8 s vs 0.07 s per million on x86).
    keys = np.sort(keys)
    if len(keys) < 2:
        return keys
    keep = np.empty(len(keys), dtype=np.bool_)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys if keep.all() else keys[keep]


def _index_bits(n: int) -> int:
    # One bucket per 16-32 keys: the bucket table costs at most 0.25 bytes per
    # entry and leaves bisect ~5 steps instead of ~24 at 10M entries.
    return max(1, min(24, n.bit_length() - 4))


def _in_sorted(sorted_keys: _Keys, keys: _Keys) -> npt.NDArray[np.bool_]:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=np.bool_)
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == len(sorted_keys)] = 0
    hit: npt.NDArray[np.bool_] = sorted_keys[pos] == keys
    return hit


class _SortedKeys:
    """Strictly increasing uint64 keys with a bucket table for short bisects."""

    __slots__ = ("array", "index", "shift", "view")

    def __init__(self, array: _Keys) -> None:
        array.flags.writeable = False
        self.array = array
        bits = _index_bits(len(array))
        self.shift = 64 - bits
        bounds = np.arange(1, 1 << bits, dtype=np.uint64) << np.uint64(self.shift)
        index = np.empty((1 << bits) + 1, dtype=np.uint32)
        index[0] = 0
        index[1:-1] = np.searchsorted(array, bounds)
        index[-1] = len(array)
        # memoryview + bisect: C-level, and free of numpy's per-call overhead,
        # which alone is larger than the whole lookup.
        self.index = index.data.cast("B").cast("I")
        self.view = array.data.cast("B").cast("Q")

    def __contains__(self, key: int) -> bool:
        bucket = key >> self.shift
        hi = self.index[bucket + 1]
        i = bisect.bisect_left(self.view, key, self.index[bucket], hi)
        return i < hi and self.view[i] == key


class RevocationSet:
    """An immutable set of revoked pass IDs; `apply` returns a new set.

    Readers on other threads may keep using an old set while a new one is built.
    """

    __slots__ = ("_added", "_removed", "_sorted")

    def __init__(
        self,
        keys: _SortedKeys,
        added: frozenset[int] = frozenset(),
        removed: frozenset[int] = frozenset(),
    ) -> None:
        """Use the classmethods; this wraps already-validated parts."""
        self._sorted = keys
        self._added = added  # keys not in the array
        self._removed = removed  # keys in the array

    @classmethod
    def empty(cls) -> RevocationSet:
        """A set with no revoked passes."""
        return cls(_SortedKeys(np.empty(0, dtype=np.uint64)))

    @classmethod
    def from_ids(cls, ids: Iterable[str]) -> RevocationSet:
        """A set holding exactly `ids` (duplicates are fine)."""
        return cls(_SortedKeys(_sorted_unique(_keys_of(ids))))

    def __contains__(self, pass_id: object) -> bool:
        if not isinstance(pass_id, str):
            return False
        key = int.from_bytes(
            hashlib.blake2b(pass_id.encode(), digest_size=_KEY_BYTES).digest(), "little"
        )
        if key in self._added:
            return True
        return key not in self._removed and key in self._sorted

    def __len__(self) -> int:
        return len(self._sorted.array) - len(self._removed) + len(self._added)

    def __repr__(self) -> str:
        return f"<RevocationSet {len(self)} passes>"

    @property
    def nbytes(self) -> int:
        """Memory held: key array, bucket table and overlay (set slots plus int objects)."""
        overlay = sum(s.__sizeof__() + 32 * len(s) for s in (self._added, self._removed) if s)
        return self._sorted.array.nbytes + self._sorted.index.nbytes + overlay

    def apply(self, added: Iterable[str], removed: Iterable[str]) -> RevocationSet:
        """A new set: this one minus `removed`, plus `added` (an ID in both stays revoked).

        Removing an ID that is not revoked, or adding one that already is, is harmless.
        """
        array = self._sorted.array
        add_keys = _sorted_unique(_keys_of(added))
        del_keys = _sorted_unique(_keys_of(removed))
        add_in_array = _in_sorted(array, add_keys)
        del_in_array = _in_sorted(array, del_keys)
        new_added = set(self._added)
        new_added.difference_update(del_keys.tolist())
        new_added.update(add_keys[~add_in_array].tolist())
        new_removed = set(self._removed)
        new_removed.update(del_keys[del_in_array].tolist())
        new_removed.difference_update(add_keys[add_in_array].tolist())
        # The sorted array is shared, not copied: it is read-only.
        result = RevocationSet(self._sorted, frozenset(new_added), frozenset(new_removed))
        if len(new_added) + len(new_removed) > max(_OVERLAY_MIN, len(array) // _OVERLAY_SHARE):
            return result.compacted()
        return result

    def compacted(self) -> RevocationSet:
        """An equal set with the overlay folded into one sorted array (costs a full copy)."""
        if not self._added and not self._removed:
            return self
        array = self._sorted.array
        if self._removed:
            gone = np.fromiter(self._removed, dtype=np.uint64, count=len(self._removed))
            array = np.delete(array, np.searchsorted(array, gone))
        if self._added:
            new = np.sort(np.fromiter(self._added, dtype=np.uint64, count=len(self._added)))
            array = np.insert(array, np.searchsorted(array, new), new)
        return RevocationSet(_SortedKeys(array))

    def keys(self) -> _Keys:
        """The sorted keys of every revoked pass, as a read-only uint64 array."""
        whole: RevocationSet = self.compacted()  # typed: its privates are this class's own
        return whole._sorted.array

    def write_new(self, path: Path, serial: int) -> None:
        """Write the set to `path`, which must not exist yet, and fsync it (not its directory)."""
        body = self.keys().astype("<u8", copy=False)
        fields = _FIELDS.pack(_MAGIC, _VERSION, 0, serial, len(body))
        digest = _body_digest()
        digest.update(fields)
        digest.update(body.data.cast("B"))
        # O_EXCL and O_NOFOLLOW: a fresh file of our own, never one planted there.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(fields)
                out.write(digest.digest())
                out.write(body.data.cast("B"))
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def save(self, path: Path, serial: int) -> None:
        """Write the set to `path` atomically: readers see the old file or the new one."""
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
        self.write_new(tmp, serial)
        try:
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        # The rename itself is only durable once the directory entry is on disk.
        fsync_dir(path.parent)

    @classmethod
    def load(cls, path: Path) -> tuple[RevocationSet, int]:
        """Read a file written by `save`: the set and its serial.

        Raises RevocationFileError if the file is unreadable, torn or corrupt.
        """
        try:
            with open(path, "rb", buffering=0) as src:
                size = os.fstat(src.fileno()).st_size
                header = src.read(_HEADER_BYTES)
                if len(header) < _HEADER_BYTES:
                    raise RevocationFileError(
                        f"{path}: {size} bytes is too short for a revocation file header"
                    )
                magic, version, _, serial, count = _FIELDS.unpack_from(header)
                if magic != _MAGIC:
                    raise RevocationFileError(f"{path}: not a revocation file (magic {magic!r})")
                if version != _VERSION:
                    raise RevocationFileError(f"{path}: unsupported format version {version}")
                expected = _HEADER_BYTES + count * _KEY_BYTES
                if size != expected:
                    raise RevocationFileError(
                        f"{path}: {size} bytes but the header promises {expected} (torn write?)"
                    )
                body = np.empty(count, dtype="<u8")
                got = src.readinto(body.data.cast("B"))
        except OSError as exc:
            raise RevocationFileError(f"{path}: cannot read revocation file: {exc}") from exc
        if got != count * _KEY_BYTES:
            raise RevocationFileError(f"{path}: file shrank while being read")
        digest = _body_digest()
        digest.update(header[: _FIELDS.size])
        digest.update(body.data.cast("B"))
        if digest.digest() != header[_FIELDS.size :]:
            raise RevocationFileError(f"{path}: checksum mismatch, file is corrupt")
        keys = body.astype(np.uint64, copy=False)
        # Lookups bisect the array, so an unsorted one would silently miss revoked
        # passes; a correct writer never produces one, so refuse it.
        if count > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            raise RevocationFileError(f"{path}: keys are not strictly increasing")
        return cls(_SortedKeys(keys)), int(serial)
