"""The other signed objects under hostile input: parse_bundle and parse_update raise
only their own error.
"""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from support.fuzz_verify import FUZZ, HUGE_BSTR, SAMPLES, TOO_DEEP, _flip, cbor_values

from scanner.errors import BundleError, RevocationUpdateError
from scanner.formats.cose import sign1
from scanner.trust.bundle import parse_bundle
from scanner.trust.revocation_update import parse_update

# --- the other signed objects: bundles and revocation updates ------------------------


def _parse_bundle_or_its_error(data: bytes) -> bool:
    """True if the bundle parsed; only BundleError may escape parse_bundle."""
    try:
        parse_bundle(data, SAMPLES.keys.root.verify_key)
    except BundleError:
        return False
    return True


def _parse_update_or_its_error(data: bytes) -> bool:
    try:
        parse_update(data, SAMPLES.keys.revocation.verify_key)
    except RevocationUpdateError:
        return False
    return True


@FUZZ
@given(st.binary(max_size=2000))
@example(b"")
@example(HUGE_BSTR)
@example(TOO_DEEP)
def test_parse_bundle_raises_only_bundle_error_on_random_bytes(data: bytes) -> None:
    assert not _parse_bundle_or_its_error(data)


@FUZZ
@given(st.integers(min_value=0, max_value=len(SAMPLES.bundle) * 8 - 1), st.booleans())
@example(0, True)
@example(len(SAMPLES.bundle) * 8 - 8, True)
def test_damaged_bundle_is_refused_with_bundle_error(bit: int, truncate: bool) -> None:
    data = SAMPLES.bundle[: bit // 8] if truncate else _flip(SAMPLES.bundle, bit)
    assert not _parse_bundle_or_its_error(data)


@FUZZ
@given(st.binary(max_size=2000))
@example(b"")
@example(HUGE_BSTR)
@example(TOO_DEEP)
def test_parse_update_raises_only_revocation_update_error_on_random_bytes(data: bytes) -> None:
    assert not _parse_update_or_its_error(data)


@FUZZ
@given(st.integers(min_value=0, max_value=len(SAMPLES.revocations) * 8 - 1), st.booleans())
@example(0, True)
@example(len(SAMPLES.revocations) * 8 - 8, True)
def test_damaged_revocation_update_is_refused_with_its_error(bit: int, truncate: bool) -> None:
    data = SAMPLES.revocations[: bit // 8] if truncate else _flip(SAMPLES.revocations, bit)
    assert not _parse_update_or_its_error(data)


@FUZZ
@given(cbor_values)
def test_root_signed_payload_of_any_shape_gives_only_bundle_error(value: Any) -> None:
    with pytest.raises(BundleError):
        parse_bundle(sign1(cbor2.dumps(value), SAMPLES.keys.root), SAMPLES.keys.root.verify_key)


@FUZZ
@given(cbor_values)
def test_revocation_signed_payload_of_any_shape_gives_only_update_error(value: Any) -> None:
    key = SAMPLES.keys.revocation
    with pytest.raises(RevocationUpdateError):
        parse_update(sign1(cbor2.dumps(value), key), key.verify_key)
