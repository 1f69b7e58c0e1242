"""HC1 QR text -> Verdict: the inspection's findings, the DSC list and rules, and policy.

`verify_hc1` is pure (time and trust come in as arguments) and never raises; `Hc1Format`
feeds it the unit's current trust data. The reason set is CP1's, extended by
`wrong_key_usage` and `rule_failed` (docs/credentials.md).
"""

from __future__ import annotations

from collections.abc import Callable, Container
from datetime import UTC, datetime

from scanner.decide.policy import Enforcement, Policy
from scanner.formats.hc1 import qrtext
from scanner.formats.hc1.inspect import Inspection, Stage, TimeCheck, inspect
from scanner.formats.hc1.rules import external_parameters, first_failure, in_force
from scanner.formats.hc1.summary import pass_id, summarise
from scanner.model import (
    ClockState,
    Holder,
    Outcome,
    PassInfo,
    PassKind,
    Reason,
    TrustState,
    Verdict,
)
from scanner.trust.dcc_store import DccTrust
from scanner.trust.snapshot import TrustSnapshot

FORMAT = "hc1"
_STAGE_REASON = {
    Stage.PREFIX: Reason.MALFORMED,  # HC1: then something other than base45 text
    Stage.BASE45: Reason.MALFORMED,
    Stage.ZLIB: Reason.MALFORMED,
    Stage.COSE: Reason.MALFORMED,
    Stage.KEY: Reason.UNKNOWN_KEY,
    Stage.SIGNATURE: Reason.BAD_SIGNATURE,
    Stage.CLAIMS: Reason.MALFORMED,
}
_UNTRUSTED_CLOCKS = (ClockState.UNSYNCED, ClockState.BEHIND)
DEFAULT_POLICY = Policy()


def _no_signers(_kid: bytes) -> tuple[()]:
    return ()


def verify_hc1(
    text: bytes,
    dcc: DccTrust,
    revoked: Container[str],
    now: int,
    clock: ClockState,
    *,
    policy: Policy = DEFAULT_POLICY,
    bundle_version: int | None = None,
    revocation_serial: int | None = None,
) -> Verdict:
    """Check one HC1 text; every input gets a Verdict, none raises."""
    signers = dcc.signers
    found = inspect(text, signers.lookup if signers is not None else _no_signers, now)
    trust = signers.state(now) if signers is not None else None

    def verdict(
        reason: Reason | None, info: PassInfo | None = None, rule: str | None = None
    ) -> Verdict:
        return Verdict(
            Outcome.ACCEPT if reason is None else Outcome.REJECT,
            reason,
            trust,
            clock,
            now,
            found.kid,
            info,
            bundle_version,
            revocation_serial,
            format=FORMAT,
            rule_id=rule,
            schema_valid=found.schema_ok,
        )

    if found.failed is not None:
        return verdict(Reason.TOO_LARGE if found.too_large else _STAGE_REASON[found.failed])
    info = _info(found)
    if info is None:
        return verdict(Reason.MALFORMED)
    reason = _refusal(found, trust, clock, policy)
    if reason is not None:
        return verdict(reason, info)
    if info.pass_id in revoked:
        return verdict(Reason.REVOKED, info)
    failed_rule = _rules(found, dcc, now)
    if failed_rule is not None:
        return verdict(Reason.RULE_FAILED, info, failed_rule)
    return verdict(None, info)


def _info(found: Inspection) -> PassInfo | None:
    claims, signer = found.claims, found.signer
    ci = claims.ci if claims is not None else None
    if claims is None or signer is None or ci is None:
        return None  # the schema requires ci; without it nothing could revoke the DCC
    certificate = summarise(claims)
    name = ""
    if certificate is not None:
        name = f"{certificate.given_name} {certificate.family_name}".strip()
    return PassInfo(
        pass_id=pass_id(ci),
        issuer=claims.issuer or signer.country,
        kid=signer.kid,
        kind=PassKind.TRAVEL,
        holder=Holder(name=name, id_last4=""),
        issued_at=claims.issued_at or 0,
        not_before=claims.issued_at or 0,
        expires_at=claims.expires_at or 0,
        certificate=certificate,
    )


def _refusal(
    found: Inspection, trust: TrustState | None, clock: ClockState, policy: Policy
) -> Reason | None:
    """The first reason a verified DCC is refused before revocation and rules."""
    if trust is TrustState.EXPIRED and policy.expired_trust is Enforcement.REJECT:
        return Reason.TRUST_EXPIRED
    if trust is TrustState.STALE and policy.stale_trust is Enforcement.REJECT:
        return Reason.TRUST_EXPIRED
    if clock in _UNTRUSTED_CLOCKS and policy.untrusted_clock is Enforcement.REJECT:
        return Reason.CLOCK_UNTRUSTED
    signer, claims = found.signer, found.claims
    if signer is None or claims is None or not found.dsc_valid:
        return Reason.KEY_NOT_VALID
    if claims.issued_at is not None and not signer.valid_at(claims.issued_at):
        return Reason.KEY_NOT_VALID  # signed while the DSC was not (yet, or any longer) valid
    if found.key_usage is not True:
        return Reason.WRONG_KEY_USAGE
    if found.schema_ok is False and policy.schema_invalid is Enforcement.REJECT:
        return Reason.MALFORMED
    if found.time is TimeCheck.MISSING:
        return Reason.MALFORMED
    if found.time is TimeCheck.NOT_YET_VALID:
        return Reason.NOT_YET_VALID
    if found.time is TimeCheck.EXPIRED:
        return Reason.EXPIRED
    return None


def _rules(found: Inspection, dcc: DccTrust, now: int) -> str | None:
    """The identifier of the first rule in force that refuses the DCC, or None."""
    rule_set, claims, signer = dcc.rules, found.claims, found.signer
    if rule_set is None or claims is None or signer is None:
        return None
    at = datetime.fromtimestamp(now, UTC)
    rules = in_force(rule_set.rules, at, claims.cert_type)
    external = external_parameters(
        now,
        country=rule_set.country,
        value_sets=rule_set.value_sets,
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
        issuer_country=claims.issuer or signer.country,
    )
    failure = first_failure(rules, claims.dcc, external)
    return failure.rule if failure is not None else None


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
        """Whether `text` is an HC1 QR text."""
        return qrtext.has_prefix(text)

    def verify(self, text: bytes, now: int, clock: ClockState) -> Verdict:
        """The verdict on an HC1 text at `now`, from the current DCC trust data."""
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
