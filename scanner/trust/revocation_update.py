"""Signed revocation updates: numbered snapshots and deltas, applied only without gaps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from scanner.errors import ClaimsError, RevocationGapError, RevocationUpdateError, SignedObjectError
from scanner.formats.cose import deterministic_dumps, open_signed, sign1
from scanner.formats.cp1.claims import validate_pass_id

UPDATE_TYPE = "checkpoint-revocations"
# A snapshot of 10 million IDs is ~120 MB of CBOR: central sends those by file
# (USB stick, provisioning), while MQTT carries deltas.
MAX_UPDATE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RevocationUpdate:
    """A verified update: a full snapshot, or a delta that applies on top of `serial - 1`."""

    serial: int
    issued_at: int
    snapshot: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def check_follows(self, current_serial: int, *, awaiting_snapshot: bool = False) -> None:
        """Raise RevocationGapError unless this update may be applied after `current_serial`.

        After a revocation key rotation (`awaiting_snapshot`) only a snapshot may
        come next: it alone says what the new key's line revokes.
        """
        if awaiting_snapshot and not self.snapshot:
            raise RevocationGapError(current_serial, self.serial)
        if self.snapshot:
            if self.serial <= current_serial:
                raise RevocationGapError(current_serial, self.serial)
        elif self.serial != current_serial + 1:
            raise RevocationGapError(current_serial, self.serial)


def encode_update(
    key: SigningKey,
    *,
    serial: int,
    issued_at: int,
    added: list[str],
    removed: list[str] | None = None,
    snapshot: bool = False,
) -> bytes:
    """Sign a revocation update with the revocation key (central side)."""
    for pass_id in [*added, *(removed or [])]:
        validate_pass_id(pass_id)
    if snapshot and removed:
        raise ValueError("a snapshot lists what is revoked; it removes nothing")
    body: dict[str, Any] = {
        "type": UPDATE_TYPE,
        "serial": serial,
        "issued_at": issued_at,
        "snapshot": snapshot,
        "added": added,
        "removed": removed or [],
    }
    return sign1(deterministic_dumps(body), key)


def _ids(body: dict[Any, Any], name: str) -> tuple[str, ...]:
    values = body.get(name)
    if not isinstance(values, list):
        raise RevocationUpdateError(f"revocation field {name!r} must be a list")
    if not all(isinstance(v, str) for v in values):
        raise RevocationUpdateError(f"revocation field {name!r} must list text pass IDs")
    try:
        return tuple(validate_pass_id(v) for v in values)
    except ClaimsError as exc:
        raise RevocationUpdateError(f"revocation field {name!r}: {exc}") from None


def parse_update(data: bytes, key: VerifyKey) -> RevocationUpdate:
    """Verify an update against the bundle's revocation key and decode it."""
    if len(data) > MAX_UPDATE_BYTES:
        raise RevocationUpdateError("revocation update is too large")
    try:
        body = open_signed(data, key, UPDATE_TYPE, 4, "revocation update")
    except SignedObjectError as exc:
        if exc.code == "bad_signature":
            message = "revocation update is not signed by the revocation key"
            raise RevocationUpdateError(message) from None
        raise RevocationUpdateError(str(exc)) from None
    serial, issued_at, snapshot = body.get("serial"), body.get("issued_at"), body.get("snapshot")
    if type(serial) is not int or serial < 1 or type(issued_at) is not int or issued_at < 0:
        raise RevocationUpdateError("serial and issued_at must be positive integers")
    if not isinstance(snapshot, bool):
        raise RevocationUpdateError("'snapshot' must be a boolean")
    return RevocationUpdate(
        serial=serial,
        issued_at=issued_at,
        snapshot=snapshot,
        added=_ids(body, "added"),
        removed=_ids(body, "removed"),
    )
