"""Downlink messages as handed to the daemon: raw payload and MQTT v5 properties, unverified."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DownlinkKind(enum.StrEnum):
    """Which subscription a message came in on (see docs/mqtt.md, Downlink)."""

    TRUST_BUNDLE = "trust_bundle"
    REVOCATIONS = "revocations"
    TRUST_CATCHUP = "trust_catchup"
    COMMAND = "command"


@dataclass(frozen=True, slots=True)
class DownlinkMessage:
    """One message from central; nothing in it is trusted until the trust store verifies it."""

    kind: DownlinkKind
    topic: str
    payload: bytes
    retained: bool
    user_properties: tuple[tuple[str, str], ...] = ()
    content_type: str | None = None
    correlation_data: bytes | None = None
    response_topic: str | None = None
