"""The device's Ed25519 key as the PKCS#8 PEM file a TLS library loads for mutual TLS.

Written by hand, not with `cryptography`: the unit never issues certificates
and does not need that package; this encoding is a fixed prefix and the seed.
"""

from __future__ import annotations

import base64

# RFC 8410 section 7: the DER of a PKCS#8 OneAsymmetricKey for Ed25519 is this
# fixed prefix followed by the 32-byte seed.
_ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def device_key_pem(seed: bytes) -> bytes:
    """The device's Ed25519 private key (its 32-byte seed) as a PKCS#8 PEM file's bytes."""
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes")
    body = base64.b64encode(_ED25519_PKCS8_PREFIX + seed).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    text = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"
    return text.encode()
