"""Every field of every document the unit publishes, with its meaning: docs/mqtt.md's reference.

A test reads the documents a running unit really publishes (over a real broker)
and fails when one has a field not listed here or lacks one listed here, and
when docs/mqtt.md's generated section differs from `markdown()`.
Regenerate with: python -m scanner.uplink.schema (prints the section).
"""

from __future__ import annotations

import sys

from scanner.uplink import discovery

EVENT = {
    "seq": "sequence number in this store, from 1, never reused",
    "kind": "`scan`, `alert`, `telemetry` or `shed`",
    "format": "the credential format of a scan: `cp1` (this project's pass) or `hc1` (EU DCC)",
    "device_id": "the unit (`cp-` + hex of its key)",
    "checkpoint_id": "the checkpoint it serves",
    "wall_time": "Unix seconds by the unit's system clock when decided",
    "trusted_time": "the trusted clock's seconds the verdict used (`null` for non-scans)",
    "clock": "`synced`, `unsynced`, `behind` or `pinned`",
    "outcome": "`accept` or `reject` (scans)",
    "reason": "the reason code of a reject (pass-format.md)",
    "trust": "`fresh`, `stale` or `expired`: the trust data the verdict used",
    "pass_id": "the pass's `cti` (EU DCC: SHA-256 of its `ci`, 16 bytes hex); never a name or ID",
    "issuer_kid": "the issuer key ID, hex",
    "bundle_version": "trust bundle version used",
    "revocation_serial": "revocation serial used",
    "decode_ms": "decode time of the frame",
    "code": "alert or telemetry code",
    "detail": "flat map of the alert's or telemetry's figures",
    "rule_id": "scans refused `rule_failed`: the EU DCC entry rule's identifier",
}
SHED = {
    "seq": "first number of a range of telemetry shed when the store was full",
    "kind": "`shed`",
    "through": "last number of the range (inclusive)",
}
DOCUMENTS: dict[str, dict[str, str]] = {
    "status": {
        "v": "schema version (1)",
        "device_id": "the unit",
        "checkpoint_id": "its checkpoint (`[device] checkpoint_id`)",
        "label": "where it stands, for people (`[device] label`)",
        "state": "`online` (birth) or `offline`",
        "session": "connection counter, persisted and increased before every connection",
        "online_since": "when this session's connection was opened",
        "ts": "when this message was published; `null` in the last will",
        "reason": "`null` online; `shutdown` (clean stop) or `lost` (the last will)",
        "software": "the unit's software version",
    },
    "heartbeat": {
        "uptime_s": "seconds since the daemon started",
        "state": "`idle`, `degraded` or `fault`: what the background light shows",
        "reasons": "why degraded, e.g. `trust_stale`, `clock_unsynced`, `log_failed`",
        "camera_ok": "the camera delivers frames",
        "frames_per_s": "frames decoded a second, recently",
        "decode_ms.p50": "median decode time",
        "decode_ms.p95": "95th percentile decode time",
        "decisions": "decisions since start",
        "decisions_by_format": "decisions since start per credential format (`cp1`, `hc1`)",
        "decisions_per_min": "decisions in the last 60 s",
        "trust.bundle_version": "installed bundle version",
        "trust.age_s": "seconds since the bundle was issued",
        "trust.state": "`fresh`, `stale` or `expired`",
        "revocation_serial": "last revocation update applied",
        "revocations.state": "`fresh`, `stale` or `gapped`: the revocation data's own freshness",
        "revocations.serial": "serial of the latest revocation update applied",
        "revocations.age_s": "seconds since that update was issued; `null` before the first",
        "revocations.newest_seen": "highest serial offered; above `serial`: updates missing",
        "revocations.awaiting_snapshot": "the revocation key rotated; its snapshot is awaited",
        "clock": "`synced`, `unsynced`, `behind`, `pinned`",
        "clock_floor": "the persisted lowest trusted time (Unix seconds)",
        "cpu_temp_c": "SoC temperature; `null` off a Pi",
        "disk_free_bytes": "free space on the state partition",
        "v": "schema version (1)",
        "device_id": "the unit",
        "checkpoint_id": "its checkpoint",
        "label": "where it stands, for people",
        "session": "connection counter (as in status)",
        "sent_at": "when this heartbeat was sent",
        "outbox.depth": "events and shed ranges not yet acknowledged by the broker",
        "outbox.oldest_unsent_age_s": "age of the oldest of them; `null` when empty",
        "outbox.fill_level": "0, 50, 80 or 95: highest threshold of the bounded store reached",
        "outbox.used_bytes": "bytes the store uses",
        "outbox.max_bytes": "its bound (`[outbox] max_bytes`)",
        "uplink.connections": "connections made since start",
        "uplink.batches_sent": "scan batches acknowledged",
        "uplink.events_sent": "events in them",
        "uplink.splits": "batches split because the broker refused their size",
        "uplink.refusals": "failure PUBACKs received (ACL, quota, size)",
    },
    "batch": {
        "v": "schema version (1)",
        "device_id": "the unit",
        "store": "random ID of the unit's event store; a new one restarts `seq`",
        "session": "connection counter",
        "sent_at": "when the batch was sent",
        "first_seq": "`seq` of the first event",
        "last_seq": "`seq` of the last event",
        "count": "events in the batch",
        "events": "the events, in `seq` order (below)",
    },
    "event": EVENT,
    "shed range": SHED,
    "alert": {
        "v": "schema version (1)",
        "durable": "`true`: also in the event log, same `seq`; `false`: could not be stored",
        **EVENT,
        "message": "why it could not be stored (only when `durable` is false)",
    },
}
BEGIN = "<!-- generated by scanner.uplink.schema: do not edit by hand -->"
END = "<!-- end of generated reference -->"


def markdown() -> str:
    """The generated section of docs/mqtt.md, markers included."""
    out = [BEGIN, "", "## Field reference", ""]
    out.append("Every field of every document, from `scanner/uplink/schema.py`.")
    out.append("Nested fields are written with dots (`outbox.depth`).")
    for name, fields in DOCUMENTS.items():
        out += ["", f"### {name}", "", "| field | meaning |", "|---|---|"]
        out += [f"| `{field}` | {meaning} |" for field, meaning in fields.items()]
    out += ["", "### Home Assistant discovery entities (section 9)", ""]
    out += ["| config topic (under the prefix) | reads | template | kind |", "|---|---|---|---|"]
    for entity in discovery.ENTITIES:
        where = f"{entity.component}/DEVICE_ID/{entity.object_id}/config"
        source = "heartbeat" if entity.heartbeat else "status"
        template = str(entity.fields["value_template"]).replace("|", "\\|")
        kind = entity.fields.get("device_class") or entity.fields.get("unit_of_measurement")
        out.append(f"| `{where}` | {source} | `{template}` | {kind} |")
    out += ["", END]
    return "\n".join(out) + "\n"


# Maps whose keys are data, not fields: each is documented as one field.
_OPAQUE_MAPS = ("detail", "decisions_by_format")


def flat_keys(document: dict[str, object], prefix: str = "") -> set[str]:
    """Field paths of a published document, nested maps with dots (`detail` is one field)."""
    found: set[str] = set()
    for key, value in document.items():
        if isinstance(value, dict) and key not in _OPAQUE_MAPS:
            found |= flat_keys(value, f"{prefix}{key}.")
        else:
            found.add(prefix + key)
    return found


if __name__ == "__main__":
    sys.stdout.write(markdown())
