"""What arrives from the broker: downlink messages for the daemon (raw, unverified), own status."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.formats import strict_json
from scanner.uplink.topics import Topics

if TYPE_CHECKING:  # paho is imported at run time only by the connection (session.py)
    import paho.mqtt.client as mqtt


class DownlinkKind(enum.StrEnum):
    """Which subscription a message came in on (see docs/mqtt.md, Downlink)."""

    TRUST_BUNDLE = "trust_bundle"
    REVOCATIONS = "revocations"
    TRUST_CATCHUP = "trust_catchup"
    COMMAND = "command"
    DCC_SIGNERS = "dcc_signers"
    DCC_RULES = "dcc_rules"


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


def downlink_message(topics: Topics, msg: mqtt.MQTTMessage) -> DownlinkMessage | None:
    """The message as handed to the daemon, or None if it came in on no downlink topic."""
    kinds = {
        topics.commands: DownlinkKind.COMMAND,
        topics.trust_catchup: DownlinkKind.TRUST_CATCHUP,
        topics.trust_bundle: DownlinkKind.TRUST_BUNDLE,
        topics.revocations: DownlinkKind.REVOCATIONS,
        topics.dcc_signers: DownlinkKind.DCC_SIGNERS,
        topics.dcc_rules: DownlinkKind.DCC_RULES,
    }
    kind = kinds.get(msg.topic)
    if kind is None:
        return None
    props = msg.properties
    user = tuple(getattr(props, "UserProperty", ()) or ())
    correlation = getattr(props, "CorrelationData", None)
    return DownlinkMessage(
        kind=kind,
        topic=msg.topic,
        payload=bytes(msg.payload),
        retained=bool(msg.retain),
        user_properties=tuple((str(k), str(v)) for k, v in user),
        content_type=getattr(props, "ContentType", None),
        correlation_data=bytes(correlation) if correlation is not None else None,
        response_topic=getattr(props, "ResponseTopic", None),
    )


def calls_for_rebirth(payload: bytes | bytearray, session: int) -> bool:
    """Whether the device's own retained status, as received, means it must say "online" again.

    A last will from an older connection can land after this connection's
    birth (the broker notices the old one dead late); so can anything unreadable.
    """
    try:
        document = strict_json.loads(payload, "status")
        seen = int(document["session"])
        state = str(document["state"])
    except (ValueError, KeyError, TypeError):
        return True
    return seen < session or (seen == session and state != "online")
