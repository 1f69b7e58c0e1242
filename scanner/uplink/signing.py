"""Ed25519 signatures over uplink messages, carried in MQTT v5 user properties."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

# Domain separation: the device key may sign other things (enrolment), and a
# signature over one of those must never pass for an uplink message.
SIGNATURE_CONTEXT = b"checkpoint-scanner/uplink/v1\x00"
PROP_ALG = "sig-alg"
PROP_SIG = "sig"
PROP_KEY = "sig-key"
ALGORITHM = "ed25519"


def signed_bytes(topic: str, payload: bytes) -> bytes:
    """Exactly what is signed: context, the UTF-8 topic, one NUL byte, the payload bytes."""
    return SIGNATURE_CONTEXT + topic.encode("utf-8") + b"\x00" + payload


def key_fingerprint(verify_key: VerifyKey) -> str:
    """First 8 bytes of SHA-256 over the raw 32-byte public key, hex: names the key."""
    return hashlib.sha256(bytes(verify_key)).hexdigest()[:16]


def sign(key: SigningKey, topic: str, payload: bytes) -> list[tuple[str, str]]:
    """The user properties that carry the signature of ``payload`` published on ``topic``."""
    signature = key.sign(signed_bytes(topic, payload)).signature
    return [
        (PROP_ALG, ALGORITHM),
        (PROP_SIG, base64.b64encode(signature).decode("ascii")),
        (PROP_KEY, key_fingerprint(key.verify_key)),
    ]


def verify(
    verify_key: VerifyKey, topic: str, payload: bytes, properties: Sequence[tuple[str, str]]
) -> bool:
    """True when the properties carry a valid signature of this topic and payload by this key."""
    found = dict(properties)
    if found.get(PROP_ALG) != ALGORITHM or PROP_SIG not in found:
        return False
    try:
        signature = base64.b64decode(found[PROP_SIG], validate=True)
        verify_key.verify(signed_bytes(topic, payload), signature)
    except (BadSignatureError, binascii.Error, ValueError):
        return False
    return True
