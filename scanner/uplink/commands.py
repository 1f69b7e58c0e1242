"""Signed commands to one device (identify, flush, report): format and replay protection.

A command is a COSE_Sign1 by the ops key from the current trust bundle over a
deterministic CBOR map naming the device, a per-device sequence number, an
expiry and the action. The device refuses anything replayed (sequence not
above the last it ran), expired, altered (signature) or addressed elsewhere.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey

from scanner.errors import SignedObjectError
from scanner.formats.cose import deterministic_dumps, open_signed, sign1
from scanner.trust.files import atomic_write

COMMAND_TYPE = "checkpoint-command"
log = logging.getLogger(__name__)

MAX_COMMAND_BYTES = 4096
MAX_LIFETIME_S = 24 * 3600  # a command valid for longer than a day is refused as malformed


class Action(enum.StrEnum):
    """What a signed command asks the device to do."""

    IDENTIFY = "identify"  # blink every lamp so a technician finds the unit
    FLUSH = "flush"  # drain the outbox now
    REPORT = "report"  # publish status and a heartbeat now


@dataclass(frozen=True, slots=True)
class Refusal:
    """A command the device will not run, as a value: `code` is what the alert and result say."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Command:
    """One signed command, as verified: device, sequence number, time and action."""

    device_id: str
    seq: int
    issued_at: int
    expires_at: int
    action: Action


def encode_command(ops: SigningKey, command: Command) -> bytes:
    """Sign a command with the ops key (central side)."""
    body = {
        "type": COMMAND_TYPE,
        "device_id": command.device_id,
        "seq": command.seq,
        "issued_at": command.issued_at,
        "expires_at": command.expires_at,
        "action": command.action.value,
    }
    return sign1(deterministic_dumps(body), ops)


def parse_command(data: bytes, ops: VerifyKey | None) -> Command | Refusal:
    """Verify and decode; a Refusal says why not (bad_signature, malformed, ...)."""
    if ops is None:
        return Refusal("no_ops_key", "the trust bundle names no ops key")
    if len(data) > MAX_COMMAND_BYTES:
        return Refusal("malformed", "command too large")
    try:
        body = open_signed(data, ops, COMMAND_TYPE, 2, "command")
    except SignedObjectError as exc:
        if exc.code == "bad_signature":
            return Refusal(exc.code, "command is not signed by the ops key")
        return Refusal(exc.code, str(exc))
    device, action = body.get("device_id"), body.get("action")
    if not isinstance(device, str) or not isinstance(action, str):
        return Refusal("malformed", "device_id and action must be text")
    numbers: list[int] = []
    for name in ("seq", "issued_at", "expires_at"):
        value = body.get(name)
        if type(value) is not int or not 0 <= value < 2**53:
            return Refusal("malformed", f"{name} must be a non-negative integer")
        numbers.append(value)
    seq, issued, expires = numbers
    if not 0 < expires - issued <= MAX_LIFETIME_S:
        return Refusal("malformed", "command lifetime must be positive and at most a day")
    try:
        parsed_action = Action(action)
    except ValueError:
        return Refusal("unknown_action", f"unknown action {action!r}")
    return Command(device, seq, issued, expires, parsed_action)


class CommandGate:
    """Admits each verified command once, for this device, before it expires.

    The last admitted sequence number is persisted before the command runs, so a
    replay after a restart is refused too.
    """

    def __init__(self, device_id: str, state_file: Path) -> None:
        self._device_id = device_id
        self._path = state_file
        self.damaged = False
        try:
            self.last_seq = int(state_file.read_text().strip())
        except FileNotFoundError:
            self.last_seq = 0
        except (OSError, ValueError):
            # Starting again from 0 would let any unexpired command be replayed: refuse
            # every command until a technician removes the file (scanning goes on).
            log.error("command sequence file %s is damaged; commands refused", state_file)
            self.damaged = True
            self.last_seq = 0

    def admit(self, command: Command, now: int) -> Refusal | None:
        """Record the command and return None, or a Refusal (wrong_device, expired, replayed...)."""
        if self.damaged:
            return Refusal("state_damaged", "the command sequence file is damaged")
        if command.device_id != self._device_id:
            return Refusal("wrong_device", "command is addressed to another device")
        if now >= command.expires_at:
            return Refusal("expired", "command has expired")
        if command.issued_at > now + 300:
            return Refusal("not_yet_valid", "command is issued in the future")
        if command.seq <= self.last_seq:
            return Refusal("replayed", f"command seq {command.seq} already used")
        atomic_write(self._path, f"{command.seq}\n".encode())
        self.last_seq = command.seq
        return None
