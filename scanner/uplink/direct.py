"""Messages the uplink sends straight, not through the outbox.

Heartbeats, alerts the outbox itself could not take, command results and trust
requests: kept in memory (the last 100) until connected, lost if the process ends.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Mapping

from scanner.outbox.queue import Outbox
from scanner.uplink import payloads
from scanner.uplink.config import UplinkConfig
from scanner.uplink.publisher import SignedPublisher
from scanner.uplink.session import Connection
from scanner.uplink.topics import Topics

log = logging.getLogger(__name__)

_TRANSIENT_MAX = 100

HeartbeatSource = Callable[[], Mapping[str, object]]


class DirectMessages:
    """Builds and sends the unstored messages; queued from any thread, sent from the uplink's."""

    def __init__(
        self,
        config: UplinkConfig,
        topics: Topics,
        outbox: Outbox,
        publisher: SignedPublisher,
        *,
        heartbeat: HeartbeatSource | None,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.topics = topics
        self._outbox = outbox
        self._publisher = publisher
        self._heartbeat_source = heartbeat
        self._clock = clock
        self._transient: collections.deque[tuple[str, bytes]] = collections.deque(
            maxlen=_TRANSIENT_MAX
        )

    def alert(self, code: str, message: str, detail: Mapping[str, object] | None) -> None:
        """Queue a signed alert that is not stored."""
        payload = payloads.transient_alert(
            device_id=self.config.device_id,
            wall_time=self._clock(),
            code=code,
            message=message,
            detail=detail,
        )
        self._transient.append((self.topics.alerts, payload))

    def command_result(self, document: Mapping[str, object]) -> None:
        """Queue an answer to a command."""
        self._transient.append((self.topics.command_results, payloads.json_document(document)))

    def trust_request(self, bundle_version: int | None, revocation_serial: int | None) -> None:
        """Queue a request for what came after these versions."""
        document = {
            "v": payloads.SCHEMA_VERSION,
            "device_id": self.config.device_id,
            "bundle_version": bundle_version,
            "revocation_serial": revocation_serial,
            "reply_to": self.topics.trust_catchup,
        }
        self._transient.append((self.topics.trust_request, payloads.json_document(document)))

    def send_pending(self, conn: Connection) -> bool:
        """Send what is queued, oldest first; False if the link failed (the rest stays queued)."""
        # Take the item off before sending: other threads append meanwhile, and on a
        # full deque an append evicts the head, so a peek-then-pop could drop an
        # unsent message. A failed send puts it back at the head.
        while True:
            try:
                topic, payload = self._transient.popleft()
            except IndexError:
                return True
            if not self._publisher.publish_ok(conn, topic, payload):
                self._transient.appendleft((topic, payload))
                return False

    def send_heartbeat(self, conn: Connection, session: int, uplink: Mapping[str, object]) -> None:
        """Publish a heartbeat (without waiting): the source's part, the outbox and ``uplink``."""
        supplied: Mapping[str, object] = {}
        if self._heartbeat_source is not None:
            try:
                supplied = self._heartbeat_source()
            except Exception:
                log.exception("heartbeat source failed; sending the uplink's part only")
        age = self._outbox.oldest_unsent_age()
        outbox = {
            "depth": self._outbox.depth(),
            "oldest_unsent_age_s": round(age, 1) if age is not None else None,
            "fill_level": int(self._outbox.fill()),
            "used_bytes": self._outbox.used_bytes(),
            "max_bytes": self._outbox.max_bytes,
        }
        payload = payloads.heartbeat(
            device_id=self.config.device_id,
            checkpoint_id=self.config.checkpoint_id,
            label=self.config.label,
            session=session,
            sent_at=self._clock(),
            supplied=supplied,
            outbox=outbox,
            uplink=uplink,
        )
        conn.publish_nowait(self.topics.heartbeat, payload)
