"""Trust-store test material: signed bundles and revocation updates, and what a store leaves."""

from __future__ import annotations

from pathlib import Path

from nacl.signing import SigningKey

from scanner.demo import samples
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.freshness import RECORD_FILE
from scanner.trust.revocation_update import encode_update
from scanner.trust.store import BUNDLE_FILE, REVOCATIONS_FILE, TrustStore

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z
DAY = samples.DAY


def bundle_bytes(
    keys: samples.SampleKeys,
    version: int,
    *,
    root: SigningKey | None = None,
    revocation: SigningKey | None = None,
) -> bytes:
    """A bundle of `version`, signed by the root, naming the issuer and revocation keys."""
    return encode_bundle(
        root or keys.root,
        version=version,
        issued_at=NOW - DAY + version,
        expires_at=NOW + 365 * DAY,
        issuers=[IssuerKey(keys.issuer.verify_key, 0, NOW + 365 * DAY)],
        revocation_key=(revocation or keys.revocation).verify_key,
    )


def update_bytes(
    keys: samples.SampleKeys,
    serial: int,
    added: list[str],
    removed: list[str] | None = None,
    *,
    snapshot: bool = False,
    key: SigningKey | None = None,
) -> bytes:
    """A revocation update of `serial`, signed by the revocation key unless told otherwise."""
    return encode_update(
        key or keys.revocation,
        serial=serial,
        issued_at=NOW,
        added=added,
        removed=removed,
        snapshot=snapshot,
    )


def reopen(store_dir: Path, keys: samples.SampleKeys) -> TrustStore:
    """The store in `store_dir` opened again, as after a restart."""
    return TrustStore(store_dir, keys.root.verify_key)


def leftovers(directory: Path) -> list[str]:
    """Files in the store's folder other than its own three (temp files a write left)."""
    return sorted(
        p.name
        for p in directory.iterdir()
        if p.name not in {BUNDLE_FILE, REVOCATIONS_FILE, RECORD_FILE}
    )
