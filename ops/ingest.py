"""What a device message means: topic, signature and schema checked, as plain values (no I/O)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.formats import strict_json
from scanner.uplink import signing

# Batches are at most 64 KiB by default (docs/mqtt.md 4.3); anything far above
# that is not from a scanner and is refused before it is parsed.
MAX_MESSAGE_BYTES = 1024 * 1024
MAX_SEQ = 2**53  # JSON numbers above this lose precision
MAX_TEXT = 200
MAX_FLOAT_INT = 2**63  # an integer given for a float: beyond this float() overflows or rounds
EVENT_KINDS = frozenset({"scan", "alert", "telemetry", "shed"})
OUTCOMES = frozenset({None, "accept", "reject"})

KeyLookup = Callable[[str], Any]  # device ID -> nacl VerifyKey, or None when not enrolled


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message as received: topic, payload and user properties."""

    topic: str
    payload: bytes
    user_properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Refused:
    """A message that was not stored, and why (counted, and quarantined when ``keep``)."""

    reason: str
    device_id: str
    # A status or heartbeat from a unit not (yet) enrolled carries no events and
    # the next one replaces it: counted, not kept. Everything else is kept.
    keep: bool = True


@dataclass(frozen=True, slots=True)
class Batch:
    """A signed batch of events from one device's store, checked."""

    device_id: str
    store: str
    events: tuple[tuple[Any, ...], ...]  # EVENT_COLUMNS without stored_at


@dataclass(frozen=True, slots=True)
class Status:
    """A device's birth or last will, checked."""

    device_id: str
    state: str
    session: int
    online_since: float | None
    at: float | None
    reason: str | None
    software: str | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A device's heartbeat, checked."""

    device_id: str
    session: int | None
    document: str  # the heartbeat JSON, re-encoded compactly


@dataclass(frozen=True, slots=True)
class TransientAlert:
    """An alert the device could not store (``durable: false``): it exists only here."""

    device_id: str
    code: str
    detail: str


Parsed = Batch | Status | Heartbeat | TransientAlert | Refused | None


class _BadError(Exception):
    """The document does not follow docs/mqtt.md."""


def covered_through(event: Sequence[Any]) -> int:
    """The last sequence number an event row accounts for (a shed row covers a range)."""
    through = event[4]
    return int(through) if through is not None else int(event[2])


def parse(message: Message, root: str, key_for: KeyLookup) -> Parsed:
    """Check one message; ``None`` for topics the collector does not keep (durable alert copies)."""
    device_id, _, leaf = split_topic(message.topic, root)
    if device_id is None:
        return Refused("bad_topic", "")
    if len(message.payload) > MAX_MESSAGE_BYTES:
        return Refused("too_large", device_id)
    if leaf not in ("scans", "alerts", "status", "heartbeat"):
        return None
    key = key_for(device_id)  # a database fault here propagates: it is not the message's
    if key is None:
        return Refused("unknown_device", device_id, keep=leaf in ("scans", "alerts"))
    if leaf in ("scans", "alerts") and not signing.verify(
        key, message.topic, message.payload, message.user_properties
    ):
        return Refused("bad_signature", device_id)
    try:
        return _document(device_id, leaf, message.payload)
    except Exception:  # noqa: BLE001 - no input may stop the collector; it is quarantined
        return Refused(f"bad_{leaf}", device_id)


def _document(device_id: str, leaf: str, payload: bytes) -> Parsed:
    try:
        document = _object(payload)
        if document.get("device_id") != device_id:
            return Refused("device_mismatch", device_id)
        if leaf == "scans":
            return _batch(device_id, document)
        if leaf == "alerts":
            return _alert(device_id, document)
        if leaf == "status":
            return _status(device_id, document)
        return Heartbeat(device_id, _opt_int(document.get("session")), _dumps(document))
    except (_BadError, ValueError, TypeError, RecursionError):
        return Refused(f"bad_{leaf}", device_id)


def split_topic(topic: str, root: str) -> tuple[str | None, str, str]:
    """(device ID, "", leaf) of a device topic under `root`; (None, "", "") if it is not one."""
    prefix = f"{root}/devices/"
    if not topic.startswith(prefix):
        return None, "", ""
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 2 or not parts[0] or len(parts[0]) > 64 or not parts[0].isprintable():
        return None, "", ""
    return parts[0], "", parts[1]


def _batch(device_id: str, document: dict[str, Any]) -> Batch:
    store = _text(document.get("store"))
    events = document.get("events")
    if not store or not isinstance(events, list) or not events:
        raise _BadError
    if document.get("count") != len(events):
        raise _BadError
    rows: list[tuple[Any, ...]] = []
    last = 0
    for event in events:
        if not isinstance(event, dict):
            raise _BadError
        row = _event(device_id, store, event)
        if row[2] <= last:
            raise _BadError  # out of order, repeated, or overlapping a shed range
        last = covered_through(row)
        rows.append(row)
    if document.get("first_seq") != rows[0][2] or document.get("last_seq") != last:
        raise _BadError
    return Batch(device_id, store, tuple(rows))


def _event(device_id: str, store: str, event: dict[str, Any]) -> tuple[Any, ...]:
    seq = _seq(event.get("seq"))
    kind = event.get("kind")
    if kind not in EVENT_KINDS:
        raise _BadError
    if kind == "shed":
        through = _seq(event.get("through"))
        if through < seq:
            raise _BadError
        return (device_id, store, seq, kind, through, *([None] * 14))
    if event.get("device_id") != device_id or event.get("outcome") not in OUTCOMES:
        raise _BadError
    detail = event.get("detail")
    if detail is not None and not isinstance(detail, dict):
        raise _BadError
    return (
        device_id,
        store,
        seq,
        kind,
        None,
        _text(event.get("checkpoint_id")),
        _opt_float(event.get("wall_time")),
        _opt_int(event.get("trusted_time")),
        _text(event.get("clock")),
        event.get("outcome"),
        _text(event.get("reason")),
        _text(event.get("trust")),
        _text(event.get("pass_id")),
        _text(event.get("issuer_kid")),
        _opt_int(event.get("bundle_version")),
        _opt_int(event.get("revocation_serial")),
        _opt_float(event.get("decode_ms")),
        _text(event.get("code")),
        _dumps(detail) if detail is not None else None,
    )


def _alert(device_id: str, document: dict[str, Any]) -> TransientAlert | None:
    if document.get("durable") is not False:
        return None  # the same event arrives in a scans batch, which is the record
    code = _text(document.get("code")) or "unknown"
    detail = {"message": _text(document.get("message")), "detail": document.get("detail")}
    return TransientAlert(device_id, code, _dumps(detail))


def _status(device_id: str, document: dict[str, Any]) -> Status:
    state = document.get("state")
    if state not in ("online", "offline"):
        raise _BadError
    session = _opt_int(document.get("session"))
    if session is None:
        raise _BadError
    return Status(
        device_id,
        str(state),
        session,
        _opt_float(document.get("online_since")),
        _opt_float(document.get("ts")),
        _text(document.get("reason")),
        _text(document.get("software")),
    )


def _object(payload: bytes) -> dict[str, Any]:
    # Strict: a duplicate key (two `pass_id`s, two `seq`s), NaN or a lone surrogate
    # is malformed, not taken by its last copy (scanner/formats/strict_json.py).
    document = strict_json.loads(payload, "message")
    if not isinstance(document, dict):
        raise _BadError
    return document


def _seq(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEQ:
        raise _BadError
    return value


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SEQ:
        raise _BadError
    return value


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadError
    if isinstance(value, int) and abs(value) > MAX_FLOAT_INT:
        raise _BadError  # float() of a 400-digit number raises OverflowError
    result = float(value)
    if not math.isfinite(result):
        raise _BadError
    return result


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        raise _BadError  # PostgreSQL text cannot hold U+0000
    if not value.isascii():
        value.encode("utf-8")  # a lone surrogate from JSON \ud800 raises UnicodeEncodeError
    return value


def _dumps(document: object) -> str:
    # ASCII: NUL and lone surrogates become \u escapes that every database stores.
    return json.dumps(document, separators=(",", ":"))
