"""The verification policy: what degraded trust data or a degraded clock does to a valid pass."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from scanner.trust.freshness import DEFAULT_GAP_GRACE_S, DEFAULT_STALE_AFTER_S


class Enforcement(enum.StrEnum):
    """What a degraded condition does to an otherwise valid pass."""

    WARN = "warn"  # accept, with the condition flagged on the verdict
    REJECT = "reject"  # fail closed


@dataclass(frozen=True, slots=True)
class Policy:
    """Choices for degraded trust data and clocks; the defaults are the safe ones."""

    # A stale bundle still holds genuine keys; rejecting every pass after a week
    # offline would close the checkpoint, so it warns (amber on the unit).
    stale_trust: Enforcement = Enforcement.WARN
    # Past its expiry the bundle may hold retired or compromised keys: fail closed.
    expired_trust: Enforcement = Enforcement.REJECT
    # Unsynced or behind clocks are already held at the floor, so a clock set
    # back cannot revive an expired pass; the condition is flagged, not fatal.
    untrusted_clock: Enforcement = Enforcement.WARN
    # HC1: a DCC that verifies but breaks the EU JSON schema was still signed by a
    # national DSC; it is flagged, and a site that wants strictness refuses it (malformed).
    schema_invalid: Enforcement = Enforcement.WARN
    # Revocation data has its own freshness (scanner.trust.freshness): stale after
    # this long without an update, gapped once a missing update stays missing this long.
    revocations_stale_after_s: int = DEFAULT_STALE_AFTER_S
    revocations_gap_grace_s: int = DEFAULT_GAP_GRACE_S

    def __post_init__(self) -> None:
        if self.revocations_stale_after_s <= 0 or self.revocations_gap_grace_s < 0:
            raise ValueError("revocations_stale_after_s must be positive, gap grace not negative")
