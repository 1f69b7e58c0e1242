"""Named dashboard and API users with roles, kept in a 0600 JSON file of hashed tokens.

Tokens are 256 random bits from `secrets`, so they are stored as plain SHA-256:
a slow password hash (argon2, bcrypt) exists to make guessing a low-entropy
password expensive, and nobody can enumerate 2**256 tokens however fast the
hash is. A plain hash also lets every request be checked in microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from scanner.cli.kit import CommandError, command, echo, parser, print_json
from scanner.trust.files import atomic_write

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_PREFIX = "cpo_"  # recognisable in a secret scanner or a leaked paste


class Role(StrEnum):
    """What a user may see: ops or tracer."""

    OPS = "ops"  # the fleet, alerts and the audit of who traced whom
    TRACER = "tracer"  # the fleet, alerts and the tracing pages and API


# What each role may do; tracers do not read the audit of their own traces.
GRANTS: dict[Role, frozenset[str]] = {
    Role.OPS: frozenset({"fleet", "audit"}),
    Role.TRACER: frozenset({"fleet", "trace"}),
}


class UsersFileError(ValueError):
    """The users file is missing, unreadable, readable by others or malformed."""


@dataclass(frozen=True, slots=True)
class User:
    """A named user and their role."""

    name: str
    role: Role

    def may(self, grant: str) -> bool:
        """Whether the role grants `grant`."""
        return grant in GRANTS[self.role]


def hash_token(token: str) -> str:
    """The stored hash of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A new random bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class UsersFile:
    """The users file, read again whenever it changes on disk (``user add`` needs no restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, tuple[Role, str]] = {}
        self._load()

    def authenticate(self, token: str) -> User | None:
        """The user holding ``token``, compared in constant time against every stored hash."""
        self._load()
        given = hash_token(token)
        found = None
        for name, (role, digest) in self._users.items():
            if hmac.compare_digest(given, digest):
                found = User(name, role)
        return found

    def names(self) -> dict[str, Role]:
        """Every user's name and role."""
        self._load()
        return {name: role for name, (role, _) in self._users.items()}

    def _load(self) -> None:
        with self._lock:
            try:
                info = self.path.stat()
            except OSError as exc:
                raise UsersFileError(f"users file {self.path}: {exc.strerror}") from None
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp == self._stamp:
                return
            self._users = read_users(self.path)
            self._stamp = stamp


def read_users(path: Path) -> dict[str, tuple[Role, str]]:
    """The users file's entries (name -> role, token hash); refuses one others can read."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsersFileError(f"users file {path} is readable by others; chmod 600")
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsersFileError(f"users file {path}: {exc.strerror}") from None
    except ValueError as exc:
        if isinstance(exc, UsersFileError):
            raise
        raise UsersFileError(f"users file {path}: not JSON ({exc})") from None
    users = document.get("users") if isinstance(document, dict) else None
    if not isinstance(users, dict):
        raise UsersFileError(f'users file {path}: expected {{"users": {{...}}}}')
    found: dict[str, tuple[Role, str]] = {}
    for name, entry in users.items():
        try:
            found[str(name)] = (Role(entry["role"]), str(entry["token_sha256"]))
        except (KeyError, TypeError, ValueError):
            raise UsersFileError(
                f"users file {path}: user {name!r} needs role and token_sha256"
            ) from None
    return found


def _write(path: Path, users: dict[str, dict[str, object]]) -> None:
    data = json.dumps({"users": users}, indent=2, sort_keys=True).encode() + b"\n"
    atomic_write(path, data, mode=0o600)


def _entries(path: Path) -> dict[str, dict[str, object]]:
    if not path.exists():
        return {}
    read_users(path)  # refuse a malformed or world-readable file before changing it
    users: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["users"]
    return users


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-ops user`: add, list and remove users."""
    p = parser("checkpoint-ops user", "Add, list and remove dashboard and API users.")
    p.add_argument("--users", required=True, type=Path, help="the users file (created 0600)")
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a user (or give one a new token); prints it once")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument(
        "--token-file", type=Path, help="write the token to this new 0600 file instead of stdout"
    )
    sub.add_parser("list", help="names and roles (never tokens)")
    remove = sub.add_parser("remove", help="remove a user: their token stops working at once")
    remove.add_argument("name")
    args = p.parse_args(argv)
    try:
        users = _entries(args.users)
    except UsersFileError as exc:
        raise CommandError(str(exc)) from None
    if args.action == "list":
        print_json({name: entry["role"] for name, entry in sorted(users.items())})
        return 0
    if not _NAME.match(args.name):
        raise CommandError(f"user name {args.name[:70]!r}: letters, digits and ._@- only")
    if args.action == "remove":
        if users.pop(args.name, None) is None:
            raise CommandError(f"no user {args.name!r} in {args.users}")
        _write(args.users, users)
        return 0
    token = new_token()
    if args.token_file is not None:
        try:
            fd = os.open(args.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CommandError(f"--token-file {args.token_file}: {exc.strerror}") from None
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
    users[args.name] = {
        "role": args.role,
        "token_sha256": hash_token(token),
        "created_at": int(time.time()),
    }
    _write(args.users, users)
    if args.token_file is None:
        echo(token)  # the only time it is shown: only its hash is kept
    return 0
