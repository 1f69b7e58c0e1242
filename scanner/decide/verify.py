"""QR text -> verdict: the offline check of a pass against trust data at a given time.

`verify_text` is a pure function that returns a Verdict for any input and
never raises; `Verifier` feeds it the trusted clock and the current trust
snapshot and lets verified passes raise the clock's floor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scanner.decide.policy import Enforcement, Policy
from scanner.errors import BadTextError, ClaimsError, CoseError, NotAPassError, TextTooLargeError
from scanner.formats.base import CredentialFormat
from scanner.formats.cose import parse_sign1
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import decode_claims
from scanner.model import ClockState, Outcome, PassInfo, Reason, TrustState, Verdict
from scanner.trust.clock import Clock
from scanner.trust.snapshot import TrustSnapshot

_UNTRUSTED_CLOCKS = (ClockState.UNSYNCED, ClockState.BEHIND)
DEFAULT_POLICY = Policy()


def verify_text(
    text: bytes,
    trust: TrustSnapshot,
    now: int,
    clock: ClockState,
    policy: Policy = DEFAULT_POLICY,
) -> Verdict:
    """Check one QR text; every input gets a Verdict, none raises."""
    trust_state = trust.state(now)
    problem, kid, info = _read_pass(text, trust, now)
    if problem is None and info is not None:
        problem = _refusal(
            info, trust, trust_state=trust_state, now=now, clock=clock, policy=policy
        )
    return Verdict(
        Outcome.ACCEPT if problem is None else Outcome.REJECT,
        problem,
        trust_state,
        clock,
        now,
        kid,
        info,
        trust.bundle.version,
        trust.revocation_serial,
        revocations=trust.revocation_state(
            now, policy.revocations_stale_after_s, policy.revocations_gap_grace_s
        ),
    )


def _read_pass(
    text: bytes, trust: TrustSnapshot, now: int
) -> tuple[Reason | None, bytes | None, PassInfo | None]:
    """(None, kid, claims) of a pass signed by an issuer in force, else (why not, kid, None)."""
    try:
        cose = qrtext.unwrap(text)
    except TextTooLargeError:
        return Reason.TOO_LARGE, None, None
    except NotAPassError:
        return Reason.NOT_A_PASS, None, None
    except BadTextError:
        return Reason.MALFORMED, None, None
    try:
        envelope = parse_sign1(cose)
    except CoseError:
        return Reason.MALFORMED, None, None
    kid = envelope.kid
    issuer = trust.bundle.issuers.get(kid)
    if issuer is None:
        return Reason.UNKNOWN_KEY, kid, None
    if not issuer.valid_at(now):
        return Reason.KEY_NOT_VALID, kid, None
    if not envelope.verify(issuer.key):
        return Reason.BAD_SIGNATURE, kid, None
    try:
        return None, kid, decode_claims(envelope.payload, kid)
    except ClaimsError:
        return Reason.MALFORMED, kid, None


def _refusal(
    info: PassInfo,
    trust: TrustSnapshot,
    *,
    trust_state: TrustState,
    now: int,
    clock: ClockState,
    policy: Policy,
) -> Reason | None:
    """Why a genuine pass is refused at `now` (trust data, clock, validity, revocation), or None."""
    if trust_state is TrustState.EXPIRED and policy.expired_trust is Enforcement.REJECT:
        return Reason.TRUST_EXPIRED
    if trust_state is TrustState.STALE and policy.stale_trust is Enforcement.REJECT:
        return Reason.TRUST_EXPIRED
    if clock in _UNTRUSTED_CLOCKS and policy.untrusted_clock is Enforcement.REJECT:
        return Reason.CLOCK_UNTRUSTED
    if now < info.not_before:
        return Reason.NOT_YET_VALID
    if now >= info.expires_at:
        return Reason.EXPIRED
    if info.pass_id in trust.revoked:
        return Reason.REVOKED
    return None


class Cp1Format:
    """CP1, the checkpoint's own passes, as one credential format among others."""

    name = "cp1"

    def __init__(self, trust: Callable[[], TrustSnapshot], policy: Policy = DEFAULT_POLICY) -> None:
        self._trust = trust
        self._policy = policy

    def recognises(self, text: bytes) -> bool:
        """Whether `text` is a CP1 QR text."""
        return text.startswith(qrtext.PREFIX)

    def verify(self, text: bytes, now: int, clock: ClockState) -> Verdict:
        """The verdict on a CP1 text at `now`, from the current trust snapshot."""
        return verify_text(text, self._trust(), now, clock, self._policy)


class Verifier:
    """Verifies with the format whose prefix the text carries, at the trusted clock's time.

    CP1 (`Cp1Format`'s check, here with the clock-floor evidence only its passes give)
    answers every text no other format recognises: a Wi-Fi code is `not_a_pass`.
    """

    def __init__(
        self,
        trust: Callable[[], TrustSnapshot],
        clock: Clock,
        policy: Policy = DEFAULT_POLICY,
        formats: Sequence[CredentialFormat] = (),
    ) -> None:
        self._trust = trust
        self._clock = clock
        self._policy = policy
        self._formats = tuple(formats)

    def verify(self, text: bytes) -> Verdict:
        """The verdict on any QR text, by the format that recognises it, at the trusted time."""
        now, clock_state = self._clock.now()
        other = next((f for f in self._formats if f.recognises(text)), None)
        if other is not None:
            # Only the unit's own issuers' passes move the clock floor: a DSC list holds
            # thousands of foreign keys, and one forward-dated DCC must not expire the rest.
            return other.verify(text, now, clock_state)
        trust = self._trust()
        verdict = verify_text(text, trust, now, clock_state, self._policy)
        if verdict.info is not None and verdict.reason in _FLOOR_EVIDENCE:
            self._clock.observe(_evidence(verdict.info, trust))
        return verdict


# A signed iat is evidence that the present is at least that late: it is how a
# unit whose clock restarted a year back heals (its first genuine pass reads
# "not yet valid" and moves the floor). Expired, revoked and refused passes do
# not count. The floor only moves forward, so a forward-dated pass (a buggy or
# leaked issuer key) must not expire every pass on the unit for good: the
# evidence is capped at the end of the bundle's fresh window (issued_at +
# stale_after, a week by default), the pass's own expiry and its key's window.
# Past the fresh window only the root (a new bundle) or NTP move the floor.
_FLOOR_EVIDENCE = (None, Reason.NOT_YET_VALID)


def _evidence(info: PassInfo, trust: TrustSnapshot) -> int:
    bundle = trust.bundle
    issuer = bundle.issuers.get(info.kid)
    key_end = issuer.not_after if issuer is not None else bundle.expires_at
    fresh_end = bundle.issued_at + bundle.stale_after
    return min(info.issued_at, info.expires_at, key_end, fresh_end)
