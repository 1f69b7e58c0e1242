"""Sealed credentials: signed by the ops key, then sealed to one device's key (docs/enrollment.md).

Sign, then seal: the signature (COSE_Sign1 by the trust bundle's ops key, the
root's delegate) says the centre made the file; the sealed box keeps the
password readable only by the unit. A box alone authenticates nobody: anyone
who knows a unit's public key can make one for it.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import SealedBox
from nacl.signing import SigningKey, VerifyKey

from scanner.errors import SignedObjectError, StrictJsonError
from scanner.formats import strict_json
from scanner.formats.cose import deterministic_dumps, open_signed, sign1
from scanner.trust.identity import device_id_for
from scanner.uplink.config import DEFAULT_TOPIC_ROOT

SEALED_TYPE = "checkpoint-sealed-credentials"
CREDENTIALS_TYPE = "checkpoint-credentials"
FORMAT_VERSION = 2  # version 1 was sealed but unsigned: refused, with a word on why
MAX_SEALED_BYTES = 64 * 1024  # certificates travel inside


class CredentialsError(ValueError):
    """A credentials file is malformed, forged, replayed or meant for another device."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Broker credentials for one device; the password is never printed or logged."""

    device_id: str
    username: str
    password: str = field(repr=False)
    broker: str | None = None
    topic_root: str = DEFAULT_TOPIC_ROOT
    serial: int = 0  # strictly increasing per issue: an older file is a replay
    issued_at: int = 0
    client_cert: str | None = None  # PEM, for the device's own key (mutual TLS)
    broker_ca: str | None = None  # PEM, the CA the unit trusts for the broker


def new_serial() -> int:
    """Microseconds since the epoch at the centre: later issues get larger serials."""
    return time.time_ns() // 1000


def seal(device: VerifyKey, ops: SigningKey, credentials: Credentials) -> bytes:
    """The credentials file: signed by `ops`, sealed to `device`; the device ID also in clear."""
    body = {
        "type": CREDENTIALS_TYPE,
        "version": FORMAT_VERSION,
        "device_id": credentials.device_id,
        "username": credentials.username,
        "password": credentials.password,
        "broker": credentials.broker,
        "topic_root": credentials.topic_root,
        "serial": credentials.serial,
        "issued_at": credentials.issued_at,
        "client_cert": credentials.client_cert,
        "broker_ca": credentials.broker_ca,
    }
    signed = sign1(deterministic_dumps(body), ops)
    box = SealedBox(device.to_curve25519_public_key())
    outer = {
        "type": SEALED_TYPE,
        "version": FORMAT_VERSION,
        "device_id": credentials.device_id,
        "sealed": base64.b64encode(box.encrypt(signed)).decode(),
    }
    return json.dumps(outer, indent=1).encode() + b"\n"


def _outer(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_SEALED_BYTES:
        raise CredentialsError(f"credentials file is {len(data)} bytes: too large")
    try:
        document = strict_json.loads(data, "credentials file")
    except StrictJsonError as exc:
        raise CredentialsError(str(exc)) from None
    if not isinstance(document, dict) or document.get("type") != SEALED_TYPE:
        raise CredentialsError("not a sealed credentials file")
    if document.get("version") != FORMAT_VERSION:
        raise CredentialsError(
            f"sealed credentials version {document.get('version')!r} are not signed by the "
            "centre; ask for new ones"
        )
    return document


def open_sealed(key: SigningKey, data: bytes, ops: VerifyKey | None) -> Credentials:
    """Open with the device key and verify the ops signature; raises CredentialsError."""
    mine = device_id_for(key.verify_key)
    outer = _outer(data)
    if outer.get("device_id") != mine:
        raise CredentialsError(
            f"credentials are sealed to device {outer.get('device_id')}, this unit is {mine}"
        )
    try:
        signed = SealedBox(key.to_curve25519_private_key()).decrypt(
            base64.b64decode(str(outer.get("sealed")), validate=True)
        )
    except (CryptoError, binascii.Error):
        raise CredentialsError(f"credentials file does not open with the key of {mine}") from None
    if ops is None:
        raise CredentialsError("the trust bundle names no ops key: cannot tell who made this file")
    try:
        body = open_signed(signed, ops, CREDENTIALS_TYPE, 2, "credentials")
    except SignedObjectError as exc:
        if exc.code == "bad_signature":
            raise CredentialsError(
                "credentials are not signed by the ops key of this unit's trust bundle"
            ) from None
        raise CredentialsError(str(exc)) from None
    # The clear device ID is unauthenticated; the signed one is what counts.
    if body.get("device_id") != mine or body.get("version") != FORMAT_VERSION:
        raise CredentialsError(f"signed credentials are not for device {mine}")
    return _credentials(mine, body)


def _credentials(mine: str, body: dict[Any, Any]) -> Credentials:
    texts = [body.get(name) for name in ("username", "password", "topic_root")]
    optional = [body.get(name) for name in ("broker", "client_cert", "broker_ca")]
    numbers = [body.get(name) for name in ("serial", "issued_at")]
    if (
        not all(isinstance(v, str) and v for v in texts)
        or not all(isinstance(v, str | None) for v in optional)
        or not all(type(v) is int and v >= 0 for v in numbers)
    ):
        raise CredentialsError("signed credentials are incomplete")
    username, password, topic_root = (str(v) for v in texts)
    broker, client_cert, broker_ca = (None if v is None else str(v) for v in optional)
    serial, issued_at = (int(str(v)) for v in numbers)
    return Credentials(
        mine, username, password, broker, topic_root, serial, issued_at, client_cert, broker_ca
    )
