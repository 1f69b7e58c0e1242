"""The device's own identity: its Ed25519 key, made on the device, and the ID derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey

from scanner.errors import IdentityError, KeyFileError
from scanner.formats.cose import key_id
from scanner.trust.keys import load_private_key

DEVICE_ID_PREFIX = "cp-"


def device_id_for(key: VerifyKey) -> str:
    """`cp-` + the key's kid in hex: stable, unique, and checkable against the key."""
    return DEVICE_ID_PREFIX + key_id(bytes(key)).hex()


@dataclass(frozen=True, slots=True)
class Identity:
    """The device's signing key and the device ID derived from it."""

    key: SigningKey
    device_id: str


def load_identity(path: Path, expected_id: str | None = None) -> Identity:
    """Read the device key; if the configuration names a device ID, it must be this key's."""
    try:
        key = load_private_key(path)
    except KeyFileError as exc:
        raise IdentityError(f"device identity: {exc}") from None
    device_id = device_id_for(key.verify_key)
    if expected_id is not None and expected_id != device_id:
        raise IdentityError(
            f"configuration is for device {expected_id}, but this unit's key is {device_id}"
        )
    return Identity(key, device_id)
