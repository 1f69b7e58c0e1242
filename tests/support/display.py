"""Real signed verdicts for the display tests: scanner.demo.samples verified by decide.verify."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.cli.kit import parse_instant
from scanner.decide.policy import Enforcement, Policy
from scanner.decide.verify import verify_text
from scanner.demo import samples
from scanner.model import ClockState, Reason, Verdict
from scanner.trust.bundle import parse_bundle
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import parse_update
from scanner.trust.snapshot import TrustSnapshot

NOW = parse_instant("2026-12-01T00:00:00Z")
DAY = samples.DAY
DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Passes:
    """One sample set and its trust snapshot, verified at will."""

    set: samples.SampleSet
    snapshot: TrustSnapshot

    def verdict(
        self,
        name: str,
        *,
        at: int = NOW,
        clock: ClockState = ClockState.SYNCED,
        policy: Policy = DEFAULT_POLICY,
    ) -> Verdict:
        text = self.set.by_name(name).text.encode()
        return verify_text(text, self.snapshot, at, clock, policy)

    def for_reason(self, reason: Reason) -> Verdict:
        """A real verdict refused for `reason`, whatever it takes to provoke it."""
        by_sample = {s.reason: s.name for s in self.set.samples if s.reason is not None}
        if reason in by_sample:
            verdict = self.verdict(by_sample[reason])
        elif reason is Reason.TOO_LARGE:
            verdict = verify_text(b"CP1:" + b"A" * 3000, self.snapshot, NOW, ClockState.SYNCED)
        elif reason is Reason.KEY_NOT_VALID:
            verdict = self.verdict("valid", at=NOW + 400 * DAY)  # past the issuer key's end
        elif reason is Reason.TRUST_EXPIRED:
            strict = Policy(stale_trust=Enforcement.REJECT)
            verdict = self.verdict("valid", at=NOW + 8 * DAY, policy=strict)
        else:
            strict = Policy(untrusted_clock=Enforcement.REJECT)
            verdict = self.verdict("valid", clock=ClockState.UNSYNCED, policy=strict)
        assert verdict.reason is reason
        return verdict


def passes(now: int = NOW) -> Passes:
    built = samples.build(now)
    bundle = parse_bundle(built.bundle, built.keys.root.verify_key)
    update = parse_update(built.revocations, bundle.revocation_key)
    snapshot = TrustSnapshot(bundle, RevocationSet.from_ids(update.added), update.serial)
    return Passes(built, snapshot)
