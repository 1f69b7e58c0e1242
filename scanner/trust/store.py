"""The on-device trust store: pinned root, current bundle and revocations, updated atomically."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

from nacl.signing import VerifyKey

from scanner.errors import (
    BundleError,
    BundleRollbackError,
    RevocationFileError,
    RevocationGapError,
    TrustStoreError,
)
from scanner.formats.cose import key_id
from scanner.trust.bundle import TrustBundle, parse_bundle
from scanner.trust.files import atomic_write
from scanner.trust.freshness import RECORD_FILE, RecordError, RevocationRecord
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import RevocationUpdate, parse_update
from scanner.trust.snapshot import TrustSnapshot

log = logging.getLogger(__name__)

BUNDLE_FILE = "bundle.cose"
REVOCATIONS_FILE = "revocations.bin"


class TrustStore:
    """Holds the current TrustSnapshot; updates replace it whole, on disk and in memory."""

    def __init__(self, directory: Path, root: VerifyKey) -> None:
        self._dir = directory
        self._root = root
        self._lock = threading.Lock()
        bundle = self._load_bundle()
        revoked, serial = self._load_revocations()
        record = self._load_record(serial, bundle)
        self._snapshot = TrustSnapshot(bundle, revoked, serial, record)
        self.rotated = False  # set by install_bundle when the revocation key changed

    def _load_record(self, serial: int, bundle: TrustBundle) -> RevocationRecord:
        try:
            record = RevocationRecord.load(self._dir / RECORD_FILE)
        except RecordError as exc:
            # Only freshness is lost; start stale (honest) rather than refuse to verify.
            log.warning("revocation record damaged, starting stale: %s", exc)
            record = None
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

    def apply_revocations(self, data: bytes, now: int | None = None) -> RevocationUpdate:
        """Verify and apply one update; raises RevocationUpdateError or RevocationGapError.

        A gap is recorded (the unit turns gapped after the policy's grace) before raising.
        """
        current = self._snapshot
        update = parse_update(data, current.bundle.revocation_key)
        with self._lock:
            current = self._snapshot
            record = current.revocation
            try:
                _check_follows(update, current.revocation_serial, record)
            except RevocationGapError as exc:
                if exc.got > exc.have:
                    seen = record.gap(exc.got, int(time.time()) if now is None else now)
                    seen.save(self._dir / RECORD_FILE)
                    self._snapshot = replace(current, revocation=seen)
                raise
            if update.snapshot:
                revoked = RevocationSet.from_ids(update.added)
            else:
                revoked = current.revoked.apply(update.added, update.removed)
            revoked.save(self._dir / REVOCATIONS_FILE, update.serial)
            record = record.applied(update.serial, update.issued_at, _kid(current.bundle))
            record.save(self._dir / RECORD_FILE)
            self._snapshot = TrustSnapshot(current.bundle, revoked, update.serial, record)
        log.info("revocations at serial %d (%d revoked)", update.serial, len(revoked))
        return update


def _kid(bundle: TrustBundle) -> str:
    return key_id(bytes(bundle.revocation_key)).hex()


def _check_follows(update: RevocationUpdate, serial: int, record: RevocationRecord) -> None:
    if record.awaiting_snapshot and not update.snapshot:
        # After a key rotation only a snapshot can say what the new line revokes.
        raise RevocationGapError(serial, update.serial)
    update.check_follows(serial)
