"""Uplink settings for tests: quick reconnects and polls, so outages heal within a test."""

from __future__ import annotations

from pathlib import Path

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
