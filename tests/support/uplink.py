"""Uplink settings for tests: quick reconnects and polls, so outages heal within a test."""

from __future__ import annotations

from pathlib import Path

from scanner.model import ClockState, Outcome
from scanner.outbox.events import EventKind, OutboxEvent
from scanner.uplink.config import UplinkConfig
from support.broker import Broker


def fast_config(broker: Broker, state: Path, device_id: str, **overrides: object) -> UplinkConfig:
    settings: dict[str, object] = {
        "broker_url": broker.url,
        "device_id": device_id,
        "state_dir": state,
        "reconnect_min_delay_s": 0.05,
        "reconnect_max_delay_s": 0.3,
        "poll_interval_s": 0.05,
        "ack_timeout_s": 5.0,
    }
    settings.update(overrides)
    return UplinkConfig(**settings)  # type: ignore[arg-type]


def scan_decision(n: int, device: str, outcome: Outcome = Outcome.ACCEPT) -> OutboxEvent:
    """Scan number `n` of `device` as the scan step records it: what the uplink sends."""
    return OutboxEvent(
        kind=EventKind.SCAN,
        device_id=device,
        checkpoint_id="cp-1",
        wall_time=1_700_000_000.0 + n,
        clock=ClockState.SYNCED,
        outcome=outcome,
        pass_id=f"P{n}",
        decode_ms=3.0,
    )
