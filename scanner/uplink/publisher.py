"""The uplink's publish: a QoS 1 message over the current connection, signed with the device key."""

from __future__ import annotations

import logging
from typing import Any

from scanner.uplink import signing
from scanner.uplink.session import Connection, Delivery, PublishOutcome

log = logging.getLogger(__name__)


class SignedPublisher:
    """Signs (unless told not to) and publishes; shared by the uplink's parts on its thread."""

    def __init__(self, signing_key: Any) -> None:  # nacl.signing.SigningKey (no type hints)
        self._key = signing_key

    def publish(
        self,
        conn: Connection,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        sign: bool = True,
    ) -> PublishOutcome:
        """Publish and wait for the PUBACK; what became of it."""
        properties = signing.sign(self._key, topic, payload) if sign else []
        return conn.publish(topic, payload, retain=retain, user_properties=properties)

    def publish_ok(
        self,
        conn: Connection,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        sign: bool = True,
    ) -> bool:
        """Publish; False only when the link failed (a refusal is logged and counts as done)."""
        outcome = self.publish(conn, topic, payload, retain=retain, sign=sign)
        if outcome.delivery is Delivery.REFUSED:
            log.warning("broker refused a message on %s: %s", topic, outcome.reason)
            return True  # nothing to retry for these; the link itself is fine
        return outcome.delivery is Delivery.ACKED
