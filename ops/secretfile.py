"""Secrets for the ops commands from a 0600 file or the environment, never from ``ps``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scanner.cli.kit import CommandError


def read_secret(path: Path | None, env: str, *, what: str) -> str | None:
    """The secret in ``path`` (mode 0600 or stricter), else ``$env``, else None."""
    if path is None:
        return os.environ.get(env) or None
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CommandError(f"{what} file {path} is readable by others: chmod 600 {path}")
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    if not value:
        raise CommandError(f"the {what} file {path} is empty")
    return value
