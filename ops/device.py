"""One simulated checkpoint unit: its own key, the scanner's real Outbox and real Uplink."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from nacl.signing import SigningKey

from scanner.model import ClockState, Outcome, Reason, TrustState
from scanner.outbox.events import EventKind, OutboxEvent
from scanner.outbox.queue import Outbox
from scanner.trust.identity import device_id_for
from scanner.uplink.config import UplinkConfig
from scanner.uplink.service import Uplink

# Roughly what a checkpoint sees: most passes good, a few turned back.
_REJECT_REASONS = (Reason.EXPIRED, Reason.REVOKED, Reason.BAD_SIGNATURE, Reason.NOT_A_PASS)


class SimulatedDevice:
    """Records scans into its outbox and lets the real uplink forward them, signed."""

    def __init__(
        self,
        seed: bytes,
        checkpoint_id: str,
        state_dir: Path,
        broker_url: str,
        *,
        heartbeat_interval_s: float = 5.0,
        pass_pool: int = 100_000,
    ) -> None:
        self.key = SigningKey(seed)
        self.device_id = device_id_for(self.key.verify_key)
        self.checkpoint_id = checkpoint_id
        self.state_dir = state_dir
        self.outbox = Outbox(state_dir)
        self._config = UplinkConfig(
            broker_url=broker_url,
            device_id=self.device_id,
            state_dir=state_dir,
            heartbeat_interval_s=heartbeat_interval_s,
            reconnect_min_delay_s=0.5,
            reconnect_max_delay_s=4.0,
            poll_interval_s=1.0,
            ack_timeout_s=10.0,
        )
        self._pass_pool = pass_pool
        self._rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.uplink: Uplink | None = None

    @property
    def public_key(self) -> bytes:
        """The device's Ed25519 public key."""
        return bytes(self.key.verify_key)

    @property
    def online(self) -> bool:
        """Whether the device's uplink is running."""
        return self.uplink is not None

    def connect(self) -> None:
        """Start a new uplink on the same outbox and session counter (a unit coming back)."""
        if self.uplink is None:
            self.uplink = Uplink(self._config, self.outbox, self.key, heartbeat=self._health)
            self.uplink.start()

    def disconnect(self) -> None:
        """Stop the uplink (the unit goes off the network); scans keep going to the outbox."""
        if self.uplink is not None:
            self.uplink.stop()
            self.uplink = None

    def scan(self, now: float, pass_id: str | None = None) -> int:
        """Record one decision as the daemon does (durable first) and wake the uplink."""
        rejected = self._rng.random() < 0.08
        event = OutboxEvent(
            kind=EventKind.SCAN,
            device_id=self.device_id,
            checkpoint_id=self.checkpoint_id,
            wall_time=now,
            clock=ClockState.SYNCED,
            trusted_time=int(now),
            outcome=Outcome.REJECT if rejected else Outcome.ACCEPT,
            reason=self._rng.choice(_REJECT_REASONS) if rejected else None,
            trust=TrustState.FRESH,
            pass_id=pass_id or f"PX{self._rng.randrange(self._pass_pool):010d}",
            issuer_kid="9f86d081884c7d65",
            bundle_version=12,
            revocation_serial=3456,
            decode_ms=round(self._rng.uniform(2.0, 9.0), 2),
        )
        seq = self.outbox.record(event)
        if self.uplink is not None:
            self.uplink.wake()
        return seq

    def _health(self) -> Mapping[str, object]:
        return {
            "frames_per_s": 29.8,
            "decode_ms": {"p50": 3.1, "p95": 7.9},
            "trust": {"bundle_version": 12, "age_s": 3600, "state": "fresh"},
            "revocation_serial": 3456,
            "clock": "synced",
        }

    def close(self) -> None:
        """Disconnect and close the outbox."""
        self.disconnect()
        self.outbox.close()
