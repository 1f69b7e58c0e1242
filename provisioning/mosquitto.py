"""Mosquitto password-file and ACL lines for one device, merged into the broker's files."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

from scanner.trust.files import atomic_write

# What mosquitto_passwd 2.0 writes: PBKDF2-HMAC-SHA512 ("$7$"), 101 iterations,
# a 12-byte salt, a 64-byte hash (EVP_MAX_MD_SIZE), both in standard base64; the
# broker runs PBKDF2 over the decoded salt (security_default.c, pw__digest).
PBKDF2_SHA512 = 7
DEFAULT_ITERATIONS = 101
SALT_BYTES = 12
HASH_BYTES = 64


def password_hash(
    password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """`$7$<iterations>$<salt>$<hash>` as Mosquitto's password_file expects it."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, HASH_BYTES)
    encoded = (base64.b64encode(salt).decode(), base64.b64encode(digest).decode())
    return f"${PBKDF2_SHA512}${iterations}${encoded[0]}${encoded[1]}"


def acl_block(username: str, device_id: str, topic_root: str, comment: str) -> list[str]:
    """The device writes only under its own subtree and reads only what is addressed to it.

    It also reads its own status: the uplink watches its retained status to
    replace a stale "offline" left by its last will.
    """
    device = f"{topic_root}/devices/{device_id}"
    safe = "".join(c if c.isprintable() else " " for c in comment)
    return [
        f"# {safe}",
        f"user {username}",
        f"topic write {device}/#",
        f"topic read {device}/status",
        f"topic read {device}/commands",
        f"topic read {device}/trust",
        f"topic read {topic_root}/trust/#",
    ]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def _mode(path: Path, default: int) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return default


def merge_password(path: Path, username: str, hashed: str) -> None:
    """Add the user's line, replacing only an older line for the same user; others are kept."""
    kept = [line for line in _lines(path) if line.split(":", 1)[0] != username]
    text = "\n".join([*kept, f"{username}:{hashed}"]) + "\n"
    # The hashes are salted and slow, but still nobody else's business.
    atomic_write(path, text.encode("utf-8"), _mode(path, 0o600))


def merge_acl(path: Path, block: list[str]) -> bool:
    """Append the user's block unless the file already has one for that user."""
    lines = _lines(path)
    user_line = next(line for line in block if line.startswith("user "))
    if user_line in (line.strip() for line in lines):
        return False
    spacer = [""] if lines and lines[-1].strip() else []
    text = "\n".join([*lines, *spacer, *block]) + "\n"
    atomic_write(path, text.encode("utf-8"), _mode(path, 0o644))
    return True


def new_password() -> str:
    """A random password with no characters a config or URL would need to escape."""
    return secrets.token_urlsafe(24)
