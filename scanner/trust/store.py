"""The on-device trust store: pinned root, current bundle and revocations, updated atomically."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from nacl.signing import VerifyKey

from scanner.errors import (
    BundleError,
    BundleRollbackError,
    RevocationApplyError,
    RevocationFileError,
    RevocationGapError,
    TrustStoreError,
)
from scanner.formats.cose import key_id
from scanner.trust.bundle import TrustBundle, parse_bundle
from scanner.trust.files import atomic_write, fsync_dir
from scanner.trust.freshness import RECORD_FILE, RecordError, RevocationRecord
from scanner.trust.revocation_build import (
    OFFLOAD_BYTES,
    BuildBase,
    Built,
    build,
    build_in_child,
    remove_stale,
)
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

log = logging.getLogger(__name__)

BUNDLE_FILE = "bundle.cose"
REVOCATIONS_FILE = "revocations.bin"


class TrustStore:
    """Holds the current TrustSnapshot; updates replace it whole, on disk and in memory."""

    def __init__(
        self, directory: Path, root: VerifyKey, *, offload_bytes: int = OFFLOAD_BYTES
    ) -> None:
        """`offload_bytes`: revocation updates this large or larger are built in a child process."""
        self._dir = directory
        self._root = root
        self._offload_bytes = offload_bytes
        self._lock = threading.Lock()
        bundle = self._load_bundle()
        revoked, serial = self._load_revocations()
        record = self._load_record(serial, bundle)
        # After a rotation the file keeps the old key's set (and serial) until the
        # new key's snapshot replaces it; the new line's serial is the record's 0.
        self._snapshot = TrustSnapshot(bundle, revoked, record.serial, record)
        self.rotated = False  # set by install_bundle when the revocation key changed

    def _load_record(self, serial: int, bundle: TrustBundle) -> RevocationRecord:
        try:
            record = RevocationRecord.load(self._dir / RECORD_FILE)
        except RecordError as exc:
            # Only freshness is lost; start stale (honest) rather than refuse to verify.
            log.warning("revocation record damaged, starting stale: %s", exc)
            record = None
        if record is not None and record.awaiting_snapshot and record.signer == _kid(bundle):
            return record  # a rotation still waiting for its snapshot: keep waiting
        if record is None or record.serial != serial:
            # Older units kept no record: the set is the current key's, its age unknown.
            return RevocationRecord(serial=serial, signer=_kid(bundle))
        return record

    def _load_bundle(self) -> TrustBundle:
        path = self._dir / BUNDLE_FILE
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TrustStoreError(f"no trust bundle at {path}: {exc.strerror}") from None
        try:
            return parse_bundle(data, self._root)
        except BundleError as exc:
            raise TrustStoreError(f"{path}: {exc}") from None

    def _load_revocations(self) -> tuple[RevocationSet, int]:
        path = self._dir / REVOCATIONS_FILE
        if not path.exists():
            return RevocationSet.empty(), 0
        try:
            return RevocationSet.load(path)
        except RevocationFileError as exc:
            # Writes are atomic, so this is outside damage. Failing open (no
            # revocations) would turn revoked passes green: refuse to start.
            raise TrustStoreError(f"{path}: {exc}") from None

    @staticmethod
    def initialise(directory: Path, root: VerifyKey, bundle: bytes) -> TrustBundle:
        """Provisioning: verify and write the first bundle into an empty store."""
        parsed = parse_bundle(bundle, root)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / BUNDLE_FILE, bundle)
        return parsed

    def snapshot(self) -> TrustSnapshot:
        """The trust data in force."""
        return self._snapshot

    def install_bundle(self, data: bytes) -> TrustBundle:
        """Verify, check anti-rollback, persist atomically, then swap in. Raises BundleError."""
        bundle = parse_bundle(data, self._root)
        with self._lock:
            current = self._snapshot
            if bundle.version <= current.bundle.version:
                raise BundleRollbackError(bundle.version, current.bundle.version)
            atomic_write(self._dir / BUNDLE_FILE, data)
            record, serial = current.revocation, current.revocation_serial
            self.rotated = _kid(bundle) != _kid(current.bundle)
            if self.rotated:
                # The new key numbers its updates from 1 again: say so, never ignore
                # them as "already applied". The revoked set stays until the new
                # key's snapshot replaces it (fail closed).
                record = record.rotated(_kid(bundle), int(time.time()))
                record.save(self._dir / RECORD_FILE)
                serial = 0
                log.warning(
                    "revocation key rotated in bundle %d: waiting for its snapshot", bundle.version
                )
            self._snapshot = TrustSnapshot(bundle, current.revoked, serial, record)
        log.info("trust bundle version %d installed", bundle.version)
        return bundle

    def apply_revocations(self, data: bytes, now: int | None = None) -> AppliedRevocations:
        """Verify and apply one update; raises RevocationUpdateError or RevocationGapError.

        Large updates are built in a helper process (``revocation_build``), off
        this process's GIL; RevocationApplyError if that process fails twice.
        A gap is recorded (the unit turns gapped after the policy's grace) before
        raising. Whatever is raised, the revocations in force are unchanged.
        """
        failure: RevocationApplyError | None = None
        for _ in range(2):  # once more if the helper died or the trust data moved meanwhile
            current = self._snapshot
            base = _base(current)
            try:
                built = self._build(data, base, current)
            except RevocationGapError as exc:
                self._record_gap(exc, base, now)
                raise
            except RevocationApplyError as exc:
                log.warning("revocation apply failed: %s", exc)
                failure = exc
                continue
            try:
                with self._lock:
                    if _base(self._snapshot) == base:
                        return self._commit(built)
                failure = RevocationApplyError("trust data changed during the apply")
            except RevocationFileError as exc:
                failure = RevocationApplyError(f"staged revocation file refused: {exc}")
            finally:
                built.discard()  # a no-op once the staged file is renamed into place
        assert failure is not None
        raise failure

    def _build(self, data: bytes, base: BuildBase, current: TrustSnapshot) -> Built:
        if len(data) < self._offload_bytes:
            return build(data, base, current.revoked)
        path = self._dir / REVOCATIONS_FILE
        remove_stale(path)
        return build_in_child(data, base, path)

    def _record_gap(self, exc: RevocationGapError, base: BuildBase, now: int | None) -> None:
        if exc.got <= exc.have:
            return  # already applied (retained or re-sent): nothing to record
        with self._lock:
            current = self._snapshot
            if _base(current) != base:
                return  # moved on while the update was read: the gap is stale news
            seen = current.revocation.gap(exc.got, int(time.time()) if now is None else now)
            seen.save(self._dir / RECORD_FILE)
            self._snapshot = replace(current, revocation=seen)

    def _commit(self, built: Built) -> AppliedRevocations:
        """Under the lock: put `built` in force, on disk first (atomic, fsynced), then in memory."""
        current = self._snapshot
        path = self._dir / REVOCATIONS_FILE
        if built.staged is None:
            assert built.revoked is not None
            revoked = built.revoked
            revoked.save(path, built.serial)
        else:
            # Checked again here: the daemon swaps in only what it has read back whole.
            revoked, serial = RevocationSet.load(built.staged)
            if serial != built.serial:
                raise RevocationFileError(f"staged file holds serial {serial}, not {built.serial}")
            built.staged.replace(path)
            fsync_dir(self._dir)
        record = current.revocation.applied(built.serial, built.issued_at, _kid(current.bundle))
        record.save(self._dir / RECORD_FILE)
        self._snapshot = TrustSnapshot(current.bundle, revoked, built.serial, record)
        log.info("revocations at serial %d (%d revoked)", built.serial, len(revoked))
        return AppliedRevocations(built.serial, built.issued_at, built.snapshot, len(revoked))


@dataclass(frozen=True, slots=True)
class AppliedRevocations:
    """What an applied update did: its serial and signed time, and the set's new size."""

    serial: int
    issued_at: int
    snapshot: bool
    revoked: int


def _base(snapshot: TrustSnapshot) -> BuildBase:
    return BuildBase(
        key=bytes(snapshot.bundle.revocation_key),
        serial=snapshot.revocation_serial,
        awaiting_snapshot=snapshot.revocation.awaiting_snapshot,
    )


def _kid(bundle: TrustBundle) -> str:
    return key_id(bytes(bundle.revocation_key)).hex()
