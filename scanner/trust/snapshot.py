"""TrustSnapshot: the bundle and revocations in force at one moment, immutable."""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.model import RevocationState, TrustState
from scanner.trust.bundle import TrustBundle
from scanner.trust.freshness import RevocationRecord
from scanner.trust.revocation_set import RevocationSet


@dataclass(frozen=True, slots=True)
class TrustSnapshot:
    """Trust data at one moment: immutable, so a verifier never sees half an update."""

    bundle: TrustBundle
    revoked: RevocationSet
    revocation_serial: int
    revocation: RevocationRecord = field(default_factory=RevocationRecord)

    def state(self, now: int) -> TrustState:
        """The bundle's state at `now`: fresh, stale or expired."""
        if now >= self.bundle.expires_at:
            return TrustState.EXPIRED
        if self.bundle.is_stale(now):
            return TrustState.STALE
        return TrustState.FRESH

    def revocation_state(self, now: int, stale_after_s: int, gap_grace_s: int) -> RevocationState:
        """The revocation data's state at `now`: fresh, stale or gapped."""
        return self.revocation.state(now, stale_after_s, gap_grace_s)
