"""COSE_Sign1 (RFC 9052) with EdDSA over Ed25519: the one codec that signs and verifies."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

import cbor2
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

from scanner.errors import CborError, CoseError, SignedObjectError

ALG_EDDSA = -8
HEADER_ALG = 1
HEADER_KID = 4
COSE_SIGN1_TAG = 18
KID_LENGTH = 8
SIGNATURE_LENGTH = 64
_ENVELOPE_TAGS = frozenset({COSE_SIGN1_TAG})


# What a decoded item may be: cbor2 turns other tags into other Python types
# (datetime, Decimal, set, UUID, shared values, ...), none of which we sign.
# No floats: nothing signed here has one, and a float has several encodings.
_PLAIN = (int, bytes, str, bool, type(None))


def _order(key: Any) -> tuple[Any, ...]:
    """Sorts map keys as RFC 8949 4.2.1 does, by the bytes of their shortest encodings."""
    kind = type(key)
    if kind is int:
        return (0, key) if key >= 0 else (1, -1 - key)  # major 0, then major 1 by |n|
    if kind is bytes:
        return (2, len(key), key)  # the length is in the head, so shorter first
    if kind is str:
        raw = key.encode()
        return (3, len(raw), raw)
    return (9, bytes(cbor2.dumps(key)))  # anything else: by its encoding, after those


def _check(value: Any, tags: frozenset[int]) -> None:
    kind = type(value)
    if kind is dict or kind is cbor2.frozendict:
        previous: tuple[Any, ...] | None = None
        for key, item in value.items():
            _check(key, tags)
            order = _order(key)
            if previous is not None and order <= previous:
                raise CborError("map keys not in deterministic order")
            previous = order
            _check(item, tags)
    elif kind is list or kind is tuple:
        for item in value:
            _check(item, tags)
    elif kind is cbor2.CBORTag:
        if value.tag not in tags:
            raise CborError(f"unexpected CBOR tag {value.tag}")
        _check(value.value, tags)
    elif kind not in _PLAIN:
        raise CborError(f"unexpected CBOR item ({kind.__name__})")


def loads_untrusted(data: bytes, max_depth: int, tags: frozenset[int] = frozenset()) -> Any:
    """Decode CBOR from outside that must be in deterministic encoding; else CborError.

    One signed object must have one encoding: otherwise a pass can be written as
    endless different texts (each new to the debouncer), and a duplicate map key
    would let a decoder pick either copy. cbor2 (6.3) has no strict mode, so the
    value it decodes is encoded again, in the order it was read, and must give
    back the very bytes: that refuses non-shortest heads, indefinite lengths,
    chunked strings, duplicate keys (the map comes back shorter), wrapper tags
    and trailing bytes. Then map keys must be in RFC 8949 order, and no tag
    outside `tags`, no float and no other decoded type may appear.
    """
    value = loads_foreign(data, max_depth)
    try:
        again = bytes(cbor2.dumps(value))
    except _DECODE_ERRORS as exc:
        raise CborError(f"cannot be encoded again ({type(exc).__name__})") from None
    if again != data:
        raise CborError("not in deterministic encoding")
    _check(value, tags)
    return value


def loads_foreign(data: bytes, max_depth: int) -> Any:
    """Decode CBOR signed by a foreign issuer whose encoder is not ours (EU DCC, say).

    Only for formats whose specification does not require deterministic CBOR:
    their signature covers these exact bytes, so the encoding is not ours to fix.
    Still bounded in depth; trailing bytes are refused.
    """
    stream = io.BytesIO(data)
    try:
        value = cbor2.load(stream, max_depth=max_depth)
    except _DECODE_ERRORS as exc:
        raise CborError(type(exc).__name__) from None
    if stream.tell() != len(data):
        raise CborError("trailing bytes after the CBOR item")
    return value


# cbor2 6 signals bad input with CBORDecodeError (a CBORError, no longer a
# ValueError) but also lets TypeError (unhashable map keys), OverflowError
# and RecursionError escape: all of them are "not CBOR we can take".
_DECODE_ERRORS = (
    cbor2.CBORError,
    ValueError,
    TypeError,
    OverflowError,
    RecursionError,
    KeyError,
    IndexError,
)


def key_id(public_key: bytes) -> bytes:
    """The `kid` of a raw 32-byte Ed25519 public key: first 8 bytes of its SHA-256."""
    return hashlib.sha256(public_key).digest()[:KID_LENGTH]


def _sorted_map(value: Any) -> Any:
    # RFC 8949 section 4.2.1: map keys sorted by the bytewise order of their
    # deterministic encodings. cbor2's `canonical` sorts length-first (the old
    # RFC 7049 rule), which differs for mixed major types, so sort here.
    if isinstance(value, dict):
        items = [(cbor2.dumps(k), k, _sorted_map(v)) for k, v in value.items()]
        items.sort(key=lambda item: item[0])
        return {k: v for _, k, v in items}
    if isinstance(value, list | tuple):
        return [_sorted_map(v) for v in value]
    return value


def deterministic_dumps(value: Any) -> bytes:
    """Encode in deterministic CBOR: shortest forms, definite lengths, sorted map keys."""
    return bytes(cbor2.dumps(_sorted_map(value)))


def _bstr_head(length: int) -> bytes:
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


# The head of the only protected header this profile signs, in its one deterministic
# encoding: map(2), 1 (alg): -8 (EdDSA), 4 (kid): a byte string of 8, then the kid.
_EDDSA_HEADER = b"\xa2\x01\x27\x04\x48"

# CBOR array(4) followed by the text string "Signature1" (RFC 9052 section 4.4).
_SIG_STRUCTURE_HEAD = b"\x84\x6aSignature1"


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes Ed25519 signs: Sig_structure with empty external_aad, hand-encoded for speed."""
    return b"".join(
        (
            _SIG_STRUCTURE_HEAD,
            _bstr_head(len(protected)),
            protected,
            b"\x40",
            _bstr_head(len(payload)),
            payload,
        )
    )


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed COSE_Sign1 whose signature has not been checked yet."""

    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        """The Sig_structure bytes the signature covers."""
        return sig_structure(self.protected, self.payload)

    def verify(self, key: VerifyKey) -> bool:
        """True when the signature is a valid, canonical Ed25519 signature by `key`."""
        return verify_signature(key, self.to_be_signed(), self.signature)


def verify_signature(key: VerifyKey, message: bytes, signature: bytes) -> bool:
    """Ed25519 verification as every signed object here is checked; never raises.

    libsodium's verify rejects non-canonical S (S >= L), small-order and
    non-canonical R and public keys: the malleable signatures of Wycheproof.
    """
    if len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        key.verify(message, signature)
    except (BadSignatureError, CryptoError, ValueError):
        return False
    return True


def sign1(payload: bytes, signing_key: SigningKey) -> bytes:
    """Wrap `payload` in a tagged COSE_Sign1 by `signing_key`, kid in the protected header."""
    kid = key_id(bytes(signing_key.verify_key))
    protected = deterministic_dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid})
    signature = signing_key.sign(sig_structure(protected, payload)).signature
    return deterministic_dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def parse_sign1(data: bytes) -> Sign1:
    """Parse and check the envelope's shape; raises CoseError with what is wrong."""
    try:
        obj = loads_untrusted(data, max_depth=8, tags=_ENVELOPE_TAGS)
    except CborError as exc:
        raise CoseError(f"not CBOR: {exc}") from None
    # Every signer here writes the tag: an untagged envelope is another encoding.
    if not isinstance(obj, cbor2.CBORTag) or obj.tag != COSE_SIGN1_TAG:
        raise CoseError("not a tagged COSE_Sign1 (tag 18)")
    obj = obj.value
    # cbor2 decodes an array inside a tag as a tuple, elsewhere as a list.
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise CoseError("COSE_Sign1 must be an array of 4")
    protected, unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not isinstance(payload, bytes):
        raise CoseError("protected header and payload must be byte strings")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LENGTH:
        raise CoseError("signature must be 64 bytes")
    # Everything that matters is signed: an unprotected header could carry a
    # kid or alg an attacker swapped, so this profile requires it empty.
    if unprotected != {}:
        raise CoseError("unprotected header must be empty")
    if len(protected) == len(_EDDSA_HEADER) + KID_LENGTH and protected.startswith(_EDDSA_HEADER):
        # The one deterministic encoding of {alg: EdDSA, kid: 8 bytes}: nothing to decode.
        return Sign1(protected, protected[-KID_LENGTH:], payload, signature)
    try:
        header = loads_untrusted(protected, max_depth=2)
    except CborError as exc:
        raise CoseError(f"protected header is not CBOR: {exc}") from None
    if not isinstance(header, dict) or set(header) != {HEADER_ALG, HEADER_KID}:
        raise CoseError("protected header must hold exactly alg and kid")
    if header[HEADER_ALG] != ALG_EDDSA or type(header[HEADER_ALG]) is not int:
        raise CoseError("algorithm must be EdDSA (-8)")
    kid = header[HEADER_KID]
    if not isinstance(kid, bytes) or len(kid) != KID_LENGTH:
        raise CoseError("kid must be 8 bytes")
    return Sign1(protected=protected, kid=kid, payload=payload, signature=signature)


def open_signed(
    data: bytes, key: VerifyKey, object_type: str, max_depth: int, what: str
) -> dict[Any, Any]:
    """Verify a COSE_Sign1 by `key` whose payload is a map with `"type": object_type`.

    The envelope is checked, then the signature, and only then is the payload
    decoded: nothing unsigned is parsed beyond the envelope.
    """
    try:
        envelope = parse_sign1(data)
    except CoseError as exc:
        raise SignedObjectError("malformed", f"not a {what}: {exc}") from None
    if envelope.kid != key_id(bytes(key)) or not envelope.verify(key):
        raise SignedObjectError("bad_signature", f"{what} is not signed by the expected key")
    try:
        body = loads_untrusted(envelope.payload, max_depth=max_depth)
    except CborError as exc:
        raise SignedObjectError("malformed", f"{what} payload is not CBOR: {exc}") from None
    if not isinstance(body, dict) or body.get("type") != object_type:
        raise SignedObjectError("malformed", f"signed object is not a {what}")
    return body
