"""COSE_Sign1 of an hcert: envelope parsing, kid lookup rules, ES256 and PS256 signatures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from scanner.formats.cose import sig_structure
from scanner.formats.hc1.cbor import CborError, loads

ALG_ES256 = -7
ALG_PS256 = -37
HEADER_ALG = 1
HEADER_KID = 4
TAG_COSE_SIGN1 = 18
TAG_CWT = 61
ES256_SIGNATURE = 64  # raw r || s, 32 bytes each (RFC 9053 section 2.1)
PSS_SALT = 32  # hcert profile: RSASSA-PSS, SHA-256, MGF1, salt of the hash length
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT)

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class CoseError(ValueError):
    """The bytes are not a COSE_Sign1 with a CBOR payload."""


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed COSE_Sign1 whose signature has not been checked yet."""

    protected: bytes
    alg: int | None
    kid: bytes | None
    payload: bytes
    signature: bytes
    claims: Any  # the payload decoded as CBOR (not yet trusted)

    def to_be_signed(self) -> bytes:
        """The Sig_structure bytes the signature covers."""
        # Sig_structure (RFC 9052 section 4.4), hand-encoded as CP1 does: the same bytes as
        # cbor2.dumps(["Signature1", protected, b"", payload]) at a fraction of the cost.
        return sig_structure(self.protected, self.payload)


def _header(raw: Any, what: str) -> Mapping[Any, Any]:
    # Inside a tag cbor2 decodes maps as its immutable frozendict, a Mapping but not a dict.
    if isinstance(raw, Mapping):
        return raw
    raise CoseError(f"{what} header is not a map")


# The protected headers nearly every issuer writes: {1: alg, 4: kid} with an 8-byte kid, in
# the shortest encoding. These exact bytes decode to exactly that map (a 2-entry map, uint
# 1, the alg as a negative integer, uint 4, a byte string of 8), nothing trailing: reading
# them here saves a CBOR decode per scan. Any other header goes through cbor2.
_KID_LAST = {
    b"\xa2\x01\x26\x04\x48": ALG_ES256,  # {1: -7, 4: h'..8 bytes..'}
    b"\xa2\x01\x38\x24\x04\x48": ALG_PS256,  # {1: -37, 4: h'..8 bytes..'}
}
_KID_LENGTH = 8


def _protected(raw: bytes) -> Mapping[Any, Any]:
    alg = _KID_LAST.get(raw[:-_KID_LENGTH])
    if alg is not None:
        return {HEADER_ALG: alg, HEADER_KID: raw[-_KID_LENGTH:]}
    if not raw:
        return {}
    try:
        return _header(loads(raw, max_depth=4), "protected")
    except CborError as exc:
        raise CoseError(f"protected header is not CBOR: {exc}") from None


def parse(data: bytes) -> Sign1:
    """Parse the envelope and decode its payload; raises CoseError with what is wrong."""
    try:
        obj = loads(data, max_depth=6)
    except CborError as exc:
        raise CoseError(f"not CBOR: {exc}") from None
    # hcert allows the COSE_Sign1 tag (18), optionally inside the CWT tag (61), or none.
    if isinstance(obj, cbor2.CBORTag) and obj.tag == TAG_CWT:
        obj = obj.value
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != TAG_COSE_SIGN1:
            raise CoseError(f"CBOR tag {obj.tag} is not COSE_Sign1")
        obj = obj.value
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise CoseError("COSE_Sign1 must be an array of 4")
    protected, unprotected_raw, payload, signature = obj
    if not (
        isinstance(protected, bytes) and isinstance(payload, bytes) and isinstance(signature, bytes)
    ):
        raise CoseError("protected header, payload and signature must be byte strings")
    unprotected = _header(unprotected_raw, "unprotected")
    prot = _protected(protected)
    # RFC 9052: a kid in the protected header is the one that counts; the unprotected one
    # is used only when the protected header has none (hcert spec, section 3.3.1).
    kid = prot.get(HEADER_KID, unprotected.get(HEADER_KID))
    alg = prot.get(HEADER_ALG, unprotected.get(HEADER_ALG))
    if kid is not None and not isinstance(kid, bytes):
        raise CoseError("kid is not a byte string")
    if alg is not None and type(alg) is not int:
        raise CoseError("alg is not an integer")
    try:
        claims = loads(payload, max_depth=12)
    except CborError as exc:
        raise CoseError(f"payload is not CBOR: {exc}") from None
    return Sign1(protected, alg, kid, payload, signature, claims)


Verify = Callable[[int | None, bytes, bytes], bool]
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())  # configuration only: one serves every call
_SHA256 = hashes.SHA256()


def verifier(key: PublicKey | None) -> Verify:
    """`verify(alg, message, signature)` for one key, never raising: ES256 over P-256, or PS256.

    The key's type and curve are checked once here rather than on every scan (DSC keys are
    loaded once, see dsc.Signer.verify); the alg must still match the key on each call.
    """
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        ec_key = key

        def es256(alg: int | None, message: bytes, signature: bytes) -> bool:
            if alg != ALG_ES256 or len(signature) != ES256_SIGNATURE:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            try:
                ec_key.verify(der, message, _ECDSA_SHA256)
            except (InvalidSignature, ValueError):
                return False
            return True

        return es256
    if isinstance(key, rsa.RSAPublicKey):
        rsa_key = key

        def ps256(alg: int | None, message: bytes, signature: bytes) -> bool:
            if alg != ALG_PS256:
                return False
            try:
                rsa_key.verify(signature, message, _PSS, _SHA256)
            except (InvalidSignature, ValueError):
                return False
            return True

        return ps256
    return _never


def _never(_alg: int | None, _message: bytes, _signature: bytes) -> bool:
    return False


def verify_signature(
    key: PublicKey | None, alg: int | None, message: bytes, signature: bytes
) -> bool:
    """ES256 over P-256 or PS256 with RSA; the key type must match the alg. Never raises."""
    return verifier(key)(alg, message, signature)


def sign1(payload: bytes, key: PrivateKey, kid: bytes) -> bytes:
    """A tagged COSE_Sign1 over `payload` (the reference issuer), kid protected."""
    alg = ALG_ES256 if isinstance(key, ec.EllipticCurvePrivateKey) else ALG_PS256
    protected = bytes(cbor2.dumps({HEADER_ALG: alg, HEADER_KID: kid}))
    message = bytes(cbor2.dumps(["Signature1", protected, b"", payload]))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = key.sign(message, _PSS, hashes.SHA256())
    return bytes(cbor2.dumps(cbor2.CBORTag(TAG_COSE_SIGN1, [protected, {}, payload, signature])))
