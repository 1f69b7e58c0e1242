"""Ed25519 key files: one typed line each, so a private key is never read as a public one."""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey

from scanner.errors import KeyFileError
from scanner.formats.cose import key_id

PUBLIC_PREFIX = "ed25519-pub:"
PRIVATE_PREFIX = "ed25519-key:"


def _read_line(path: Path, prefix: str) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc})") from None
    if not text.startswith(prefix):
        if text.startswith(PRIVATE_PREFIX):
            kind = "a private key"
        elif text.startswith(PUBLIC_PREFIX):
            kind = "a public key"
        else:
            kind = "something that is not a key"
        raise KeyFileError(f"{path}: expected {prefix.rstrip(':')}, found {kind} file")
    try:
        raw = base64.b64decode(text[len(prefix) :], validate=True)
    except binascii.Error:
        raise KeyFileError(f"{path}: key is not valid base64") from None
    if len(raw) != 32:
        raise KeyFileError(f"{path}: key must be 32 bytes, found {len(raw)}")
    return raw


def public_key_text(key: VerifyKey) -> str:
    """The public key file line for `key`."""
    return PUBLIC_PREFIX + base64.b64encode(bytes(key)).decode() + "\n"


def load_public_key(path: Path) -> VerifyKey:
    """Read a public key file written by `checkpoint-provision keygen`."""
    return VerifyKey(_read_line(path, PUBLIC_PREFIX))


def load_private_key(path: Path) -> SigningKey:
    """Read a private key file; refuse one that group or others can read (like ssh does)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: private key is readable by others (mode {mode & 0o777:o}); chmod 600"
        )
    return SigningKey(_read_line(path, PRIVATE_PREFIX))


def write_private_key(path: Path, key: SigningKey, *, overwrite: bool = False) -> None:
    """Create a 0600 private key file; the mode is set at creation, never widened."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path}: exists; refusing to overwrite a private key") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(PRIVATE_PREFIX + base64.b64encode(bytes(key)).decode() + "\n")
        out.flush()
        os.fsync(out.fileno())


def kid_hex(key: VerifyKey) -> str:
    """The key ID of `key`, in hex."""
    return key_id(bytes(key)).hex()
