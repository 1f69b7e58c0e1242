"""Hostile input over the whole HC1 path: every input gets a verdict, none raises.

Random bytes, random bodies under the prefix and inside a zlib stream, random CBOR under a
valid envelope, and byte flips of a real signed DCC at every layer.
"""

from __future__ import annotations

import zlib

import cbor2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.hc1 import NOW, dsc, hc1, trust

from scanner.decide.hc1 import verify_hc1
from scanner.formats import base45
from scanner.formats.hc1 import qrtext
from scanner.model import ClockState, Outcome, Verdict
from scanner.trust.revocation_set import RevocationSet

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SIGNER = dsc()
TRUST = trust(SIGNER)
VALID = hc1(SIGNER)
VALID_COSE = qrtext.inflate(base45.decode(VALID[4:].decode()))


def _verify(text: bytes) -> Verdict:
    verdict = verify_hc1(text, TRUST, RevocationSet.empty(), NOW, ClockState.PINNED)
    assert isinstance(verdict, Verdict)
    assert verdict.format == "hc1"
    return verdict


def _rejected(text: bytes) -> None:
    verdict = _verify(text)
    assert verdict.outcome is Outcome.REJECT
    assert verdict.reason is not None


def _wrap(cose: bytes) -> bytes:
    return b"HC1:" + base45.encode(zlib.compress(cose)).encode()


def test_the_unmodified_dcc_is_accepted() -> None:
    assert _verify(VALID).accepted


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_are_rejected(data: bytes) -> None:
    _rejected(data)


@FUZZ
@given(st.binary(max_size=1500))
def test_random_bytes_under_the_prefix_are_rejected(body: bytes) -> None:
    _rejected(b"HC1:" + base45.encode(body).encode())


@FUZZ
@given(st.binary(max_size=1500))
@example(b"\x5b" + (2**62).to_bytes(8, "big") + b"abc")  # a byte string longer than memory
@example(b"\x81" * 64 + b"\x00")  # nesting past every depth limit
@example(b"\xd8\x3d\xd2\x84" + b"\x40\xa0\x40\x40")  # CWT tag around COSE, all empty
def test_random_cose_in_a_valid_stream_is_rejected(cose: bytes) -> None:
    _rejected(_wrap(cose))


_CBOR = st.recursive(
    st.none() | st.booleans() | st.integers() | st.binary(max_size=40) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers() | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=30,
)


@FUZZ
@given(_CBOR, _CBOR, _CBOR)
def test_random_cbor_in_the_envelope_is_rejected(
    protected: object, unprotected: object, payload: object
) -> None:
    envelope = [cbor2.dumps(protected), unprotected, cbor2.dumps(payload), b"\0" * 64]
    _rejected(_wrap(cbor2.dumps(cbor2.CBORTag(18, envelope))))


@FUZZ
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_a_flipped_bit_of_the_signed_dcc_is_rejected(where: int, bit: int) -> None:
    cose = bytearray(VALID_COSE)
    cose[where % len(cose)] ^= 1 << bit
    _rejected(_wrap(bytes(cose)))


@FUZZ
@given(st.integers(min_value=4), st.sampled_from(list(base45.ALPHABET)))
def test_a_changed_character_of_the_text_never_raises(where: int, char: str) -> None:
    text = bytearray(VALID)
    text[4 + where % (len(text) - 4)] = ord(char)
    _verify(bytes(text))
