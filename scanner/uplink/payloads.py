"""The JSON documents the device publishes: scan batches, alerts, status and heartbeats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from scanner.outbox.events import StoredEvent

SCHEMA_VERSION = 1


def _dumps(document: Mapping[str, object]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def batch(
    *, device_id: str, store_id: str, session: int, sent_at: float, events: Sequence[StoredEvent]
) -> bytes:
    """A scan batch; the events' JSON is spliced in as stored, never re-encoded."""
    if not events:
        raise ValueError("a batch needs at least one event")
    head = _dumps(
        {
            "v": SCHEMA_VERSION,
            "device_id": device_id,
            "store": store_id,
            "session": session,
            "sent_at": round(sent_at, 3),
            "first_seq": events[0].seq,
            "last_seq": events[-1].seq,
            "count": len(events),
        }
    )
    body = ",".join(event.json for event in events)
    return f'{head[:-1]},"events":[{body}]}}'.encode()


def batch_overhead(device_id: str, store_id: str) -> int:
    """Upper bound of a batch's bytes besides its events (for the byte budget)."""
    return len(device_id.encode()) + len(store_id) + 200


def durable_alert(event: StoredEvent) -> bytes:
    """An alert from the outbox as published on ``.../alerts``: the event plus ``durable``."""
    return (f'{{"v":{SCHEMA_VERSION},"durable":true,' + event.json[1:]).encode()


def transient_alert(
    *,
    device_id: str,
    wall_time: float,
    code: str,
    message: str,
    detail: Mapping[str, object] | None,
) -> bytes:
    """An alert that could not be stored (e.g. the outbox is full): no sequence number."""
    return _dumps(
        {
            "v": SCHEMA_VERSION,
            "durable": False,
            "seq": None,
            "kind": "alert",
            "device_id": device_id,
            "wall_time": round(wall_time, 3),
            "code": code,
            "message": message,
            "detail": dict(detail) if detail is not None else None,
        }
    ).encode()


def status(
    *,
    device_id: str,
    checkpoint_id: str | None = None,
    label: str = "",
    state: str,
    session: int,
    online_since: float,
    at: float | None,
    reason: str | None,
    software: str,
) -> bytes:
    """The retained status document (birth, graceful offline, or last will)."""
    return _dumps(
        {
            "v": SCHEMA_VERSION,
            "device_id": device_id,
            "checkpoint_id": checkpoint_id,
            "label": label,
            "state": state,
            "session": session,
            "online_since": round(online_since, 3),
            "ts": round(at, 3) if at is not None else None,
            "reason": reason,
            "software": software,
        }
    ).encode()


def heartbeat(
    *,
    device_id: str,
    checkpoint_id: str | None = None,
    label: str = "",
    session: int,
    sent_at: float,
    supplied: Mapping[str, object],
    outbox: Mapping[str, object],
    uplink: Mapping[str, object],
) -> bytes:
    """Heartbeat: what the daemon supplied, then the uplink's own outbox and link figures."""
    document: dict[str, object] = dict(supplied)
    document.update(
        {
            "v": SCHEMA_VERSION,
            "device_id": device_id,
            "checkpoint_id": checkpoint_id,
            "label": label,
            "session": session,
            "sent_at": round(sent_at, 3),
            "outbox": dict(outbox),
            "uplink": dict(uplink),
        }
    )
    return _dumps(document).encode()


def json_document(document: Mapping[str, object]) -> bytes:
    """Any other small JSON document (command results, trust requests)."""
    return _dumps(document).encode()
