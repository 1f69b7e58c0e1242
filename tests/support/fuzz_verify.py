"""Shared inputs for the fuzz tests of the parse-and-verify path (test_fuzz_*.py): a real
signed pass of scanner.demo.samples and its trust, CBOR strategies, envelope builders, and
the contract every hostile input must meet (a reject with a reason, no exception).
"""

from __future__ import annotations

from typing import Any

import cbor2
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from scanner.decide.verify import verify_text
from scanner.demo import samples
from scanner.formats import base45
from scanner.formats.cose import COSE_SIGN1_TAG, key_id, sig_structure
from scanner.formats.cp1 import qrtext
from scanner.model import ClockState, Outcome, Reason, Verdict
from scanner.trust.bundle import parse_bundle
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z

SAMPLES = samples.build(NOW)
ISSUER: SigningKey = SAMPLES.keys.issuer
KID = key_id(bytes(ISSUER.verify_key))
BUNDLE = parse_bundle(SAMPLES.bundle, SAMPLES.keys.root.verify_key)
TRUST = TrustSnapshot(BUNDLE, RevocationSet.empty(), 0)
VALID_TEXT = SAMPLES.by_name("valid").text
VALID_COSE = qrtext.unwrap(VALID_TEXT.encode())
VALID_ITEMS: list[Any] = list(cbor2.loads(VALID_COSE).value)
CLAIMS: dict[int, Any] = cbor2.loads(VALID_ITEMS[2])

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Inputs that escaped verify_text as cbor2 errors before a4e8fc9 (cbor2 6 decode errors
# are no longer ValueErrors): explicit examples, so every run tries them.
HUGE_BSTR = b"\x5b" + (2**62).to_bytes(8, "big") + b"abc"
TOO_DEEP = b"\x81" * 64 + b"\x00"


def _verify(text: bytes) -> Verdict:
    verdict = verify_text(text, TRUST, NOW, ClockState.PINNED)
    assert isinstance(verdict, Verdict)
    if verdict.outcome is Outcome.REJECT:
        assert isinstance(verdict.reason, Reason)
    else:
        assert verdict.outcome is Outcome.ACCEPT
        assert verdict.reason is None
    return verdict


def _rejected(text: bytes) -> Reason:
    """The contract for anything but a genuine pass: no exception, a reject with a reason."""
    verdict = _verify(text)
    assert verdict.outcome is Outcome.REJECT, f"accepted: {text[:60]!r}"
    assert verdict.reason is not None
    return verdict.reason


def _wrap(cose: bytes) -> bytes:
    return qrtext.wrap(cose).encode()


def _raw_wrap(body: bytes) -> bytes:
    """Prefix + base45 without compression: the bytes reach parse_sign1 as given."""
    return qrtext.PREFIX + base45.encode(body).encode()


def _flip(data: bytes, bit: int) -> bytes:
    i = bit % (len(data) * 8)
    out = bytearray(data)
    out[i // 8] ^= 1 << (i % 8)
    return bytes(out)


# Plain CBOR values (no tags): well-formed, so any failure is the verifier's.
_scalars = (
    st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=True)
)
_keys = (
    st.integers(min_value=-(2**20), max_value=2**20) | st.text(max_size=6) | st.binary(max_size=6)
)
cbor_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


def _envelope(items: list[Any]) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, items))


def _signed_envelope(protected: bytes, payload: bytes, unprotected: Any = None) -> bytes:
    """An envelope genuinely signed by the bundle's issuer, whatever its headers say."""
    signature = ISSUER.sign(sig_structure(protected, payload)).signature
    return _envelope([protected, {} if unprotected is None else unprotected, payload, signature])
