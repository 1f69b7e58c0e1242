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


def acl_block(
    username: str,
    device_id: str,
    topic_root: str,
    comment: str,
    discovery_prefix: str | None = None,
) -> list[str]:
    """The device writes only under its own subtree and reads only what is addressed to it.

    It also reads its own status: the uplink watches its retained status to
    replace a stale "offline" left by its last will. With `discovery_prefix` it
    may write Home Assistant discovery configs, for its own node ID only
    (`<prefix>/<component>/<device_id>/<object_id>/config`, scanner.uplink.discovery).
    """
    device = f"{topic_root}/devices/{device_id}"
    safe = "".join(c if c.isprintable() else " " for c in comment)
    block = [
        f"# {safe}",
        f"user {username}",
        f"topic write {device}/#",
        f"topic read {device}/status",
        f"topic read {device}/commands",
        f"topic read {device}/trust",
        f"topic read {topic_root}/trust/#",
    ]
    if discovery_prefix is not None:
        block.append(f"topic write {discovery_prefix}/+/{device_id}/+/config")
    return block


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


def remove_password(path: Path, username: str) -> bool:
    """Take the user's line out of the password file; False if it had none."""
    lines = _lines(path)
    kept = [line for line in lines if line.split(":", 1)[0] != username]
    if len(kept) == len(lines):
        return False
    text = "\n".join(kept) + "\n" if kept else ""
    atomic_write(path, text.encode("utf-8"), _mode(path, 0o600))
    return True


def remove_acl(path: Path, username: str) -> bool:
    """Take the user's block (its comment, `user` line and rules) out of the ACL; False if none.

    A block ends at a blank line or at the next `user` or `pattern` line, as
    `merge_acl` writes them; lines of other users are kept as they are.
    """
    lines = _lines(path)
    try:
        start = [line.strip() for line in lines].index(f"user {username}")
    except ValueError:
        return False
    end = start + 1
    while (
        end < len(lines)
        and lines[end].strip()
        and not lines[end].startswith(("user ", "pattern ", "#"))
    ):
        end += 1
    if start > 0 and lines[start - 1].startswith("#"):
        start -= 1  # the block's comment
    if end < len(lines) and not lines[end].strip():
        end += 1  # and the blank line that separated it from the next
    kept = lines[:start] + lines[end:]
    while kept and not kept[-1].strip():
        kept.pop()
    atomic_write(path, ("\n".join(kept) + "\n" if kept else "").encode(), _mode(path, 0o644))
    return True


def new_password() -> str:
    """A random password with no characters a config or URL would need to escape."""
    return secrets.token_urlsafe(24)
