"""``checkpoint-ops enroll``: record a device's key from its signed request, or an ID and key."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from ops import quarantine
from ops.db import DatabaseError, open_database
from ops.store import EnrollError, Store
from provisioning.enrollment import EnrollmentError, verify_request
from scanner.cli.kit import CommandError, command, parser, print_json


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops enroll`: record a device's public key."""
    p = parser("checkpoint-ops enroll", "Record a device's public key in the ops database.")
    p.add_argument("--db", required=True, help="sqlite:///ops.db or postgresql://...")
    p.add_argument("--request", type=Path, help="the device's signed enrollment request (JSON)")
    p.add_argument("--device-id", help="with --public-key, instead of --request")
    p.add_argument("--public-key", help="standard base64 of the raw 32-byte Ed25519 key")
    p.add_argument("--checkpoint", help="checkpoint ID (with --device-id)")
    p.add_argument("--label", help="a name for the dashboard")
    p.add_argument("--topic-root", default=quarantine.DEFAULT_ROOT)
    args = p.parse_args(argv)
    if args.request is not None:
        try:
            request = verify_request(args.request.read_bytes())
        except OSError as exc:
            raise CommandError(f"cannot read {args.request}: {exc.strerror}") from None
        except EnrollmentError as exc:
            raise CommandError(str(exc)) from None
        device_id, key, checkpoint = request.device_id, bytes(request.key), request.checkpoint_id
        label = args.label or request.fields.get("label")
    elif args.device_id and args.public_key and args.checkpoint:
        try:
            key = base64.b64decode(args.public_key, validate=True)
        except binascii.Error:
            raise CommandError("--public-key is not base64") from None
        if len(key) != 32:
            raise CommandError("--public-key must be 32 bytes")
        device_id, checkpoint, label = args.device_id, args.checkpoint, args.label
    else:
        raise CommandError("give --request FILE, or --device-id, --public-key and --checkpoint")
    try:
        db = open_database(args.db)
        store = Store(db, collector="enroll")
        store.enroll(device_id, key, checkpoint, str(label) if label else None)
        # A unit that sent before it was enrolled here loses nothing: its batches
        # were quarantined as unknown_device and are stored now.
        replayed = quarantine.replay(store, device_id=device_id, topic_root=args.topic_root)
        db.close()
    except (DatabaseError, EnrollError) as exc:
        raise CommandError(str(exc)) from None
    print_json(
        {
            "enrolled": device_id,
            "checkpoint_id": checkpoint,
            "replayed_from_quarantine": replayed.replayed,
        }
    )
    return 0
