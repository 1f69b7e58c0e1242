"""The on-device trust store: pinned root, current bundle and revocations, updated atomically."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from nacl.signing import VerifyKey

from scanner.trust.bundle import BundleError, TrustBundle, parse_bundle
from scanner.trust.files import atomic_write
from scanner.trust.revocation_set import RevocationFileError, RevocationSet
from scanner.trust.revocation_update import RevocationUpdate, parse_update
from scanner.trust.snapshot import TrustSnapshot

log = logging.getLogger(__name__)

BUNDLE_FILE = "bundle.cose"
REVOCATIONS_FILE = "revocations.bin"


class TrustStoreError(Exception):
    """The store has no usable trust data: the device cannot verify anything."""


class BundleRollbackError(BundleError):
    """A bundle whose version is not above the current one (anti-rollback)."""

    def __init__(self, offered: int, current: int) -> None:
        super().__init__(f"bundle version {offered} is not above the current {current}")
        self.offered = offered
        self.current = current


class TrustStore:
    """Holds the current TrustSnapshot; updates replace it whole, on disk and in memory."""

    def __init__(self, directory: Path, root: VerifyKey) -> None:
        self._dir = directory
        self._root = root
        self._lock = threading.Lock()
        bundle = self._load_bundle()
        revoked, serial = self._load_revocations()
        self._snapshot = TrustSnapshot(bundle, revoked, serial)

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
        return self._snapshot

    def install_bundle(self, data: bytes) -> TrustBundle:
        """Verify, check anti-rollback, persist atomically, then swap in. Raises BundleError."""
        bundle = parse_bundle(data, self._root)
        with self._lock:
            current = self._snapshot
            if bundle.version <= current.bundle.version:
                raise BundleRollbackError(bundle.version, current.bundle.version)
            atomic_write(self._dir / BUNDLE_FILE, data)
            self._snapshot = TrustSnapshot(bundle, current.revoked, current.revocation_serial)
        log.info("trust bundle version %d installed", bundle.version)
        return bundle

    def apply_revocations(self, data: bytes) -> RevocationUpdate:
        """Verify and apply one update; raises RevocationUpdateError or RevocationGapError."""
        current = self._snapshot
        update = parse_update(data, current.bundle.revocation_key)
        with self._lock:
            current = self._snapshot
            update.check_follows(current.revocation_serial)
            if update.snapshot:
                revoked = RevocationSet.from_ids(update.added)
            else:
                revoked = current.revoked.apply(update.added, update.removed)
            revoked.save(self._dir / REVOCATIONS_FILE, update.serial)
            self._snapshot = TrustSnapshot(current.bundle, revoked, update.serial)
        log.info("revocations at serial %d (%d revoked)", update.serial, len(revoked))
        return update
