"""The one interface every credential format implements: recognise a prefix, return a Verdict.

Whatever the format, the verdict carries the same closed reason set (docs/credentials.md),
the same trust and clock flags and its `format` name; the scan step, lights, outbox,
display and uplink read nothing else.
"""

from __future__ import annotations

from typing import Protocol

from scanner.model import ClockState, Verdict


class CredentialFormat(Protocol):
    """A format such as CP1 (the checkpoint's own passes) or HC1 (EU DCC)."""

    name: str

    def recognises(self, text: bytes) -> bool:
        """Whether the text claims to be of this format (its prefix); cheap, never raises."""
        ...

    def verify(self, text: bytes, now: int, clock: ClockState) -> Verdict:
        """The verdict at `now` on the given clock; every input gets one, none raises."""
        ...
