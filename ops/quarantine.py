"""``checkpoint-ops quarantine list|replay``: the messages kept verbatim, not stored."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ops import ingest
from ops.db import DatabaseError, open_database
from ops.store import Store
from scanner.cli.kit import CommandError, command, echo, parser, print_json

DEFAULT_ROOT = "checkpoint/v1"


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay came to: stored now, and still refused."""

    replayed: int  # now stored (or applied), marked replayed
    refused: int  # still not acceptable, left in quarantine


def pending(store: Store, device_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Quarantined messages not yet replayed, oldest first (payloads summarised, not shown)."""
    where = "replayed_at IS NULL" + (" AND device_id = ?" if device_id else "")
    rows = store.db.query(
        "SELECT id, at, reason, device_id, topic, LENGTH(payload) FROM quarantine"  # noqa: S608
        f" WHERE {where} ORDER BY id LIMIT ?",
        (*([device_id] if device_id else []), limit),
    )
    keys = ("id", "at", "reason", "device_id", "topic", "bytes")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def replay(
    store: Store,
    *,
    device_id: str | None = None,
    ids: list[int] | None = None,
    topic_root: str = DEFAULT_ROOT,
) -> Replayed:
    """Check each pending message again (say, after its device was enrolled) and store it.

    The same path as live messages: a replayed batch is stored exactly once,
    counted as duplicates if it had come in meanwhile.
    """
    replayed = refused = 0
    for entry in pending(store, device_id, limit=1_000_000):
        if ids is not None and entry["id"] not in ids:
            continue
        topic, payload, properties = store.db.query(
            "SELECT topic, payload, properties FROM quarantine WHERE id = ?", (entry["id"],)
        )[0]
        message = ingest.Message(
            str(topic), bytes(payload), tuple(tuple(p) for p in json.loads(properties))
        )
        parsed = ingest.parse(message, topic_root, store.key)
        if isinstance(parsed, ingest.Refused):
            refused += 1
            continue
        now = time.time()
        with store.db.transaction():
            store.apply([(message, parsed)], now)
            store.db.execute(
                "UPDATE quarantine SET replayed_at = ? WHERE id = ?", (now, entry["id"])
            )
        replayed += 1
    return Replayed(replayed, refused)


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops quarantine list|replay`."""
    p = parser("checkpoint-ops quarantine", "List or replay messages that were not stored.")
    p.add_argument("action", choices=("list", "replay"))
    p.add_argument("--db", required=True, help="sqlite:///ops.db or postgresql://...")
    p.add_argument("--device", help="only this device's messages")
    p.add_argument("--id", type=int, action="append", dest="ids", help="only this entry (repeat)")
    p.add_argument("--topic-root", default=DEFAULT_ROOT)
    p.add_argument("--json", action="store_true", help="JSON lines for list")
    args = p.parse_args(argv)
    try:
        db = open_database(args.db)
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    store = Store(db, collector="quarantine-replay")
    try:
        if args.action == "list":
            for entry in pending(store, args.device):
                if args.json:
                    echo(json.dumps(entry))
                else:
                    echo(
                        f"{entry['id']:>8} {entry['device_id'] or '-':20} {entry['reason']:28}"
                        f" {entry['bytes']:>8} B  {entry['topic']}"
                    )
            return 0
        result = replay(store, device_id=args.device, ids=args.ids, topic_root=args.topic_root)
        print_json({"replayed": result.replayed, "still_refused": result.refused})
        return 0
    finally:
        db.close()
