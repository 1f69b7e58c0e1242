"""Fixtures of the trust-store tests: sample keys and an initialised store, twice over."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.trust_store import bundle_bytes

from scanner.demo import samples
from scanner.trust.revocation_build import OFFLOAD_BYTES
from scanner.trust.store import TrustStore


@pytest.fixture(scope="module")
def keys() -> samples.SampleKeys:
    return samples.SampleKeys(*(SigningKey.generate() for _ in range(5)))


@pytest.fixture
def store_dir(tmp_path: Path, keys: samples.SampleKeys) -> Path:
    directory = tmp_path / "trust"
    TrustStore.initialise(directory, keys.root.verify_key, bundle_bytes(keys, 1))
    return directory


@pytest.fixture(params=["in-process", "child"])
def store(store_dir: Path, keys: samples.SampleKeys, request: pytest.FixtureRequest) -> TrustStore:
    # Every revocation test runs twice: built here, and built in the helper process
    # that large updates go to (offload_bytes=0 sends even a one-ID delta there).
    offload = {"in-process": OFFLOAD_BYTES, "child": 0}[request.param]
    return TrustStore(store_dir, keys.root.verify_key, offload_bytes=offload)
