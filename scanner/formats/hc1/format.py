"""HC1 as a credential format: the EU DCC verifier fed the unit's current trust data."""

from __future__ import annotations

from collections.abc import Callable

from scanner.formats.hc1 import qrtext
from scanner.formats.hc1.verify import FORMAT, verify_hc1
from scanner.formats.policy import Policy
from scanner.model import ClockState, Verdict
from scanner.trust.dcc_store import DccTrust
from scanner.trust.snapshot import TrustSnapshot


class Hc1Format:
    """Verifies `HC1:` texts against the DSC list and rules, revocations from the bundle's."""

    name = FORMAT

    def __init__(
        self,
        dcc: Callable[[], DccTrust],
        trust: Callable[[], TrustSnapshot],
        policy: Policy | None = None,
    ) -> None:
        self._dcc = dcc
        self._trust = trust
        self._policy = policy or Policy()

    def recognises(self, text: bytes) -> bool:
        return qrtext.has_prefix(text)

    def verify(self, text: bytes, now: int, clock: ClockState) -> Verdict:
        snapshot = self._trust()
        # Revoked DCCs travel in the same revocation updates as CP1 passes, by pass ID
        # (the hash of their `ci`), so one list and one serial cover both formats.
        return verify_hc1(
            text,
            self._dcc(),
            snapshot.revoked,
            now,
            clock,
            policy=self._policy,
            bundle_version=snapshot.bundle.version,
            revocation_serial=snapshot.revocation_serial,
        )
