"""``checkpoint-ops migrate``: upgrade the ops database's schema in place (forward only)."""

from __future__ import annotations

from ops.db import DatabaseError, open_database
from ops.schema import SCHEMA_VERSION
from scanner.cli.kit import CommandError, command, parser, print_json


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops migrate`: upgrade the schema in place."""
    p = parser("checkpoint-ops migrate", "Upgrade the ops database to this version's schema.")
    p.add_argument("--db", required=True, help="sqlite:///ops.db or postgresql://...")
    args = p.parse_args(argv)
    try:
        db = open_database(args.db, upgrade=True)
    except DatabaseError as exc:
        raise CommandError(str(exc)) from None
    found = db.schema_found
    db.close()
    print_json({"from": found or None, "to": SCHEMA_VERSION, "changed": found != SCHEMA_VERSION})
    return 0
