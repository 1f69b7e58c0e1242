"""How current the revocation data is: fresh, stale or gapped, from a small record kept beside it.

The trust bundle's own age says nothing about revocations: a unit that has
missed a week of updates verifies with a bundle that is still fresh. So the
revocation line has its own record: the serial and signed time of the latest
update applied, the highest serial announced (a delta that skipped ahead), and
which revocation key the serials belong to. A new revocation key in a bundle
restarts the serials; until a snapshot signed by the new key arrives the unit
keeps what it had revoked (fail closed) and reports itself gapped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from scanner.formats import strict_json
from scanner.model import RevocationState
from scanner.trust.files import atomic_write

RECORD_FILE = "revocations.json"
DEFAULT_STALE_AFTER_S = 2 * 86400  # central publishes at least a daily (possibly empty) delta
DEFAULT_GAP_GRACE_S = 600  # a catch-up normally fills a gap within minutes


class RecordError(ValueError):
    """The revocation record is damaged."""


@dataclass(frozen=True, slots=True)
class RevocationRecord:
    """The revocation line as this unit knows it; every field is plain JSON."""

    serial: int = 0
    issued_at: int | None = None  # signed time of the latest update applied
    signer: str | None = None  # hex key ID of the revocation key the serials belong to
    newest_seen: int = 0  # highest serial offered; above `serial` means updates are missing
    gap_since: int | None = None  # when the unit first saw the gap (its trusted clock)
    awaiting_snapshot: bool = False  # the revocation key rotated: serials restart

    def state(self, now: int, stale_after_s: int, gap_grace_s: int) -> RevocationState:
        """fresh, stale (nothing new for too long) or gapped (a numbered update is missing)."""
        if self.awaiting_snapshot:
            return RevocationState.GAPPED
        missing = self.newest_seen > self.serial and self.gap_since is not None
        if missing and now - (self.gap_since or 0) >= gap_grace_s:
            return RevocationState.GAPPED
        if self.issued_at is None or now - self.issued_at > stale_after_s:
            return RevocationState.STALE
        return RevocationState.FRESH

    def applied(self, serial: int, issued_at: int, signer: str) -> RevocationRecord:
        """The record after applying update `serial` signed by `signer`."""
        newest = max(self.newest_seen, serial) if signer == self.signer else serial
        return RevocationRecord(
            serial=serial,
            issued_at=issued_at,
            signer=signer,
            newest_seen=newest,
            gap_since=self.gap_since if newest > serial else None,
        )

    def gap(self, offered: int, now: int) -> RevocationRecord:
        """The record after refusing update `offered` for a gap in the serials."""
        return replace(
            self,
            newest_seen=max(self.newest_seen, offered),
            gap_since=self.gap_since if self.gap_since is not None else now,
        )

    def rotated(self, signer: str, now: int) -> RevocationRecord:
        """A new revocation key: its serials start again; keep the set, wait for its snapshot."""
        return RevocationRecord(
            serial=0,
            issued_at=self.issued_at,
            signer=signer,
            newest_seen=0,
            gap_since=now,
            awaiting_snapshot=True,
        )

    def save(self, path: Path) -> None:
        """Write the record atomically to `path`."""
        atomic_write(path, json.dumps(asdict(self), sort_keys=True).encode() + b"\n")

    @classmethod
    def load(cls, path: Path) -> RevocationRecord | None:
        """The saved record, None if there is none yet; RecordError if damaged."""
        try:
            data = strict_json.loads(path.read_bytes(), str(path))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RecordError(f"{path}: {exc}") from None
        try:
            record = cls(**data)
        except TypeError as exc:
            raise RecordError(f"{path}: {exc}") from None
        ints = (record.serial, record.newest_seen)
        if not all(type(v) is int and v >= 0 for v in ints):
            raise RecordError(f"{path}: serials must be non-negative integers")
        return record
