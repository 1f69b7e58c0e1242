"""What degraded conditions do to an otherwise valid credential, for every format."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Enforcement(enum.StrEnum):
    """What a degraded condition does to an otherwise valid pass."""

    WARN = "warn"  # accept, with the condition flagged on the verdict
    REJECT = "reject"  # fail closed


@dataclass(frozen=True, slots=True)
class FormatPolicy:
    """HC1's choices; the trust and clock ones mirror CP1's `[policy]` and default the same."""

    stale_trust: Enforcement = Enforcement.WARN
    expired_trust: Enforcement = Enforcement.REJECT
    untrusted_clock: Enforcement = Enforcement.WARN
    # A DCC that verifies but breaks the EU schema was still signed by a national DSC: the
    # officer gets the flag; a site that wants strictness sets this to reject (malformed).
    schema_invalid: Enforcement = Enforcement.WARN
