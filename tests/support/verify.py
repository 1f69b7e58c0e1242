"""Shared fixtures and builders for the verification tests (test_verify*.py): the sample
set at NOW with its trust snapshot, and passes and bundles signed by its keys.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from nacl.signing import SigningKey

from scanner.decide.verify import verify_text
from scanner.demo import samples
from scanner.formats.cose import deterministic_dumps, sign1
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import (
    CLAIM_CHECKPOINT,
    CLAIM_CTI,
    CLAIM_EXP,
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_NBF,
    HOLDER_ID_LAST4,
    HOLDER_KIND,
    HOLDER_NAME,
    encode_claims,
)
from scanner.model import ClockState, Holder, PassInfo
from scanner.trust.bundle import IssuerKey, encode_bundle, parse_bundle
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import parse_update
from scanner.trust.snapshot import TrustSnapshot

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z
DAY = samples.DAY


@pytest.fixture(scope="module", name="sample_set")
def fixture_sample_set() -> samples.SampleSet:
    return samples.build(NOW)


@pytest.fixture(scope="module", name="trust")
def fixture_trust(sample_set: samples.SampleSet) -> TrustSnapshot:
    return _snapshot(sample_set, sample_set.bundle)


def _snapshot(sample_set: samples.SampleSet, bundle_bytes: bytes) -> TrustSnapshot:
    bundle = parse_bundle(bundle_bytes, sample_set.keys.root.verify_key)
    update = parse_update(sample_set.revocations, bundle.revocation_key)
    revoked = RevocationSet.empty().apply(update.added, update.removed)
    return TrustSnapshot(bundle, revoked, update.serial)


def _bundle(
    sample_set: samples.SampleSet,
    *,
    issuer: IssuerKey | None = None,
    issued_at: int = NOW - DAY,
    expires_at: int = NOW + 365 * DAY,
) -> bytes:
    keys = sample_set.keys
    return encode_bundle(
        keys.root,
        version=2,
        issued_at=issued_at,
        expires_at=expires_at,
        issuers=[issuer or IssuerKey(keys.issuer.verify_key, 0, NOW + 365 * DAY)],
        revocation_key=keys.revocation.verify_key,
    )


def _info(**changes: Any) -> PassInfo:
    base = samples.sample_info(NOW, pass_id="P-100001", holder=Holder("NGUYEN VAN A", "1234"))
    return replace(base, **changes)


def _issue(key: SigningKey, info: PassInfo) -> bytes:
    return qrtext.wrap(sign1(encode_claims(info), key)).encode()


def _issue_payload(key: SigningKey, claims: Any) -> bytes:
    """A pass whose payload is any CBOR value, genuinely signed by `key`."""
    return qrtext.wrap(sign1(deterministic_dumps(claims), key)).encode()


def _claims(changes: dict[int, Any] | None = None) -> dict[int, Any]:
    claims: dict[int, Any] = {
        CLAIM_ISS: "VN-CP",
        CLAIM_IAT: NOW - DAY,
        CLAIM_NBF: NOW - DAY,
        CLAIM_EXP: NOW + 30 * DAY,
        CLAIM_CTI: b"P-100002",
        CLAIM_CHECKPOINT: {HOLDER_KIND: 1, HOLDER_NAME: "NGUYEN VAN A", HOLDER_ID_LAST4: "1234"},
    }
    claims.update(changes or {})
    return claims


def _check(text: bytes | str, trust: TrustSnapshot, **kwargs: Any) -> Any:
    raw = text.encode() if isinstance(text, str) else text
    return verify_text(
        raw, trust, kwargs.pop("now", NOW), kwargs.pop("clock", ClockState.PINNED), **kwargs
    )
