"""The events the scanner logs: what the outbox stores and the uplink sends, as plain values.

Kept apart from the SQLite queue in ``scanner.outbox.queue`` so that those who only
build or read events (the scan loop, the uplink's payloads, benchmarks) need
nothing of the store itself.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass

from scanner.model import ClockState, Outcome, Reason, TrustState, Verdict

DetailValue = str | int | float | bool | None


class EventKind(enum.StrEnum):
    """What an event records; only telemetry may ever be shed."""

    SCAN = "scan"
    ALERT = "alert"
    TELEMETRY = "telemetry"
    SHED = "shed"  # a telemetry event whose body was dropped to make room


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One event as logged: never a holder's name or ID number, never the raw QR text."""

    kind: EventKind
    device_id: str
    checkpoint_id: str
    wall_time: float  # the system clock at the decision, seconds since the epoch
    clock: ClockState
    trusted_time: int | None = None  # the time the verdict was made with
    outcome: Outcome | None = None
    reason: Reason | None = None
    trust: TrustState | None = None
    pass_id: str | None = None
    issuer_kid: str | None = None  # hex
    bundle_version: int | None = None
    revocation_serial: int | None = None
    decode_ms: float | None = None
    code: str | None = None  # alert or telemetry code, e.g. "camera_fault"
    detail: Mapping[str, DetailValue] | None = None

    @classmethod
    def scan(
        cls,
        verdict: Verdict,
        *,
        device_id: str,
        checkpoint_id: str,
        wall_time: float,
        decode_ms: float | None,
    ) -> OutboxEvent:
        """The event for one decision; takes the pass ID and issuer, never the holder."""
        return cls(
            kind=EventKind.SCAN,
            device_id=device_id,
            checkpoint_id=checkpoint_id,
            wall_time=wall_time,
            clock=verdict.clock,
            trusted_time=verdict.now,
            outcome=verdict.outcome,
            reason=verdict.reason,
            trust=verdict.trust,
            pass_id=verdict.pass_id,
            issuer_kid=verdict.kid.hex() if verdict.kid is not None else None,
            bundle_version=verdict.bundle_version,
            revocation_serial=verdict.revocation_serial,
            decode_ms=decode_ms,
        )

    @classmethod
    def alert(
        cls,
        code: str,
        detail: Mapping[str, DetailValue] | None = None,
        *,
        device_id: str,
        checkpoint_id: str,
        wall_time: float,
        clock: ClockState,
        verdict: Verdict | None = None,
    ) -> OutboxEvent:
        """An alert; one about a verdict (a test card) carries its pass ID, key and time."""
        return cls(
            kind=EventKind.ALERT,
            device_id=device_id,
            checkpoint_id=checkpoint_id,
            wall_time=wall_time,
            clock=clock,
            trusted_time=verdict.now if verdict is not None else None,
            pass_id=verdict.pass_id if verdict is not None else None,
            issuer_kid=verdict.kid.hex() if verdict is not None and verdict.kid else None,
            code=code,
            detail=detail,
        )

    def as_telemetry(self) -> OutboxEvent:
        """The same record as telemetry: what the outbox may shed first when it fills."""
        return dataclasses.replace(self, kind=EventKind.TELEMETRY)

    def to_json(self) -> str:
        """Compact JSON without ``seq`` (the outbox assigns it); the schema is docs/mqtt.md."""
        document: dict[str, object] = {
            "kind": self.kind.value,
            "device_id": self.device_id,
            "checkpoint_id": self.checkpoint_id,
            "wall_time": round(self.wall_time, 3),
            "trusted_time": self.trusted_time,
            "clock": self.clock.value,
            "outcome": self.outcome.value if self.outcome is not None else None,
            "reason": self.reason.value if self.reason is not None else None,
            "trust": self.trust.value if self.trust is not None else None,
            "pass_id": self.pass_id,
            "issuer_kid": self.issuer_kid,
            "bundle_version": self.bundle_version,
            "revocation_serial": self.revocation_serial,
            "decode_ms": round(self.decode_ms, 3) if self.decode_ms is not None else None,
        }
        if self.code is not None:
            document["code"] = self.code
        if self.detail is not None:
            document["detail"] = dict(self.detail)
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event read back for sending: its sequence number and its JSON with ``seq`` first."""

    seq: int
    kind: EventKind
    json: str
    recorded_at: float
    through: int | None = None  # a shed range's last number; None for an event
