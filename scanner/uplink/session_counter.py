"""The uplink's session number, persisted so that each connection's birth orders after the last."""

from __future__ import annotations

import os
from pathlib import Path

SESSION_FILENAME = "uplink-session"


class SessionCounter:
    """A number persisted in ``state_dir``: one per connection, never reused, so births order."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / SESSION_FILENAME
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.value = int(self._path.read_text().strip() or "0")
        except FileNotFoundError:
            self.value = 0

    def next(self) -> int:
        """Persist value + 1 (atomically, fsynced) before anyone sees it, and return it."""
        value = self.value + 1
        tmp = self._path.with_suffix(".tmp")
        with tmp.open("w") as handle:
            handle.write(f"{value}\n")
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self._path)
        directory = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.value = value
        return value
