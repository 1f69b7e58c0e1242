"""Verdicts that depend on time and trust state: a pass's validity window and revocation,
the trust bundle's freshness, the clock state, and the Verifier with its clock floor.
"""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest
from nacl.signing import SigningKey
from support.verify import (
    DAY,
    NOW,
    _bundle,
    _check,
    _info,
    _issue,
    _snapshot,
    fixture_sample_set,  # noqa: F401 - fixtures
    fixture_trust,  # noqa: F401 - fixtures
)

from scanner.decide.policy import Enforcement, Policy
from scanner.decide.verify import Verifier
from scanner.demo import samples
from scanner.formats.cose import COSE_SIGN1_TAG, parse_sign1
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import encode_claims
from scanner.model import ClockState, Holder, Outcome, Reason, TrustState
from scanner.trust.bundle import IssuerKey
from scanner.trust.clock import PinnedClock, TrustedClock
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot

# --- time and revocation -------------------------------------------------------------


def test_pass_before_its_not_before_is_not_yet_valid(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    text = _issue(sample_set.keys.issuer, _info(not_before=NOW + 1))
    verdict = _check(text, trust)
    assert verdict.reason is Reason.NOT_YET_VALID
    assert verdict.pass_id == "P-100001"


def test_pass_valid_from_exactly_now_is_accepted(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    assert _check(_issue(sample_set.keys.issuer, _info(not_before=NOW)), trust).accepted


def test_expired_pass_is_rejected(sample_set: samples.SampleSet, trust: TrustSnapshot) -> None:
    verdict = _check(sample_set.by_name("expired").text, trust)
    assert verdict.reason is Reason.EXPIRED
    assert verdict.pass_id == "P-000002"


def test_pass_expiring_exactly_now_is_expired(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    text = _issue(sample_set.keys.issuer, _info(expires_at=NOW))
    assert _check(text, trust).reason is Reason.EXPIRED


def test_revoked_pass_is_rejected(sample_set: samples.SampleSet, trust: TrustSnapshot) -> None:
    verdict = _check(sample_set.by_name("revoked").text, trust)
    assert verdict.reason is Reason.REVOKED
    assert verdict.pass_id == "P-000666"


def test_revocation_is_by_pass_id_so_a_reissued_pass_with_that_id_is_revoked(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    reissued = _issue(sample_set.keys.issuer, _info(pass_id="P-000666", holder=Holder("X", "1")))
    assert _check(reissued, trust).reason is Reason.REVOKED


def test_revoked_pass_is_accepted_by_trust_without_that_revocation(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    unrevoked = TrustSnapshot(trust.bundle, RevocationSet.empty(), 0)
    assert _check(sample_set.by_name("revoked").text, unrevoked).accepted


# --- trust bundle state --------------------------------------------------------------


def test_fresh_bundle_is_flagged_fresh(sample_set: samples.SampleSet, trust: TrustSnapshot) -> None:
    verdict = _check(sample_set.by_name("valid").text, trust)
    assert verdict.trust is TrustState.FRESH


def test_stale_bundle_is_flagged_and_still_accepts_by_default(
    sample_set: samples.SampleSet,
) -> None:
    trust = _snapshot(sample_set, _bundle(sample_set, issued_at=NOW - 10 * DAY))
    verdict = _check(sample_set.by_name("valid").text, trust)
    assert verdict.accepted
    assert verdict.trust is TrustState.STALE


def test_stale_bundle_rejects_when_policy_fails_closed(sample_set: samples.SampleSet) -> None:
    trust = _snapshot(sample_set, _bundle(sample_set, issued_at=NOW - 10 * DAY))
    policy = Policy(stale_trust=Enforcement.REJECT)
    verdict = _check(sample_set.by_name("valid").text, trust, policy=policy)
    assert verdict.outcome is Outcome.REJECT
    assert verdict.reason is Reason.TRUST_EXPIRED
    assert verdict.trust is TrustState.STALE


def test_expired_bundle_is_trust_expired_by_default(sample_set: samples.SampleSet) -> None:
    trust = _snapshot(sample_set, _bundle(sample_set, issued_at=NOW - 400 * DAY, expires_at=NOW))
    verdict = _check(sample_set.by_name("valid").text, trust)
    assert verdict.reason is Reason.TRUST_EXPIRED
    assert verdict.trust is TrustState.EXPIRED


def test_expired_bundle_only_warns_when_policy_says_so(sample_set: samples.SampleSet) -> None:
    trust = _snapshot(
        sample_set, _bundle(sample_set, issued_at=NOW - 400 * DAY, expires_at=NOW - 1)
    )
    policy = Policy(expired_trust=Enforcement.WARN)
    verdict = _check(sample_set.by_name("valid").text, trust, policy=policy)
    assert verdict.accepted
    assert verdict.trust is TrustState.EXPIRED


def test_reject_verdicts_carry_the_trust_state_too(sample_set: samples.SampleSet) -> None:
    trust = _snapshot(sample_set, _bundle(sample_set, issued_at=NOW - 10 * DAY))
    verdict = _check(b"https://example.org/", trust)
    assert verdict.reason is Reason.NOT_A_PASS
    assert verdict.trust is TrustState.STALE


# --- clock state ---------------------------------------------------------------------


@pytest.mark.parametrize("clock", list(ClockState))
def test_clock_state_is_passed_through_to_the_verdict(
    sample_set: samples.SampleSet, trust: TrustSnapshot, clock: ClockState
) -> None:
    verdict = _check(sample_set.by_name("valid").text, trust, clock=clock)
    assert verdict.accepted, "default policy only warns about the clock"
    assert verdict.clock is clock
    rejected = _check(b"not a pass", trust, clock=clock)
    assert rejected.clock is clock


@pytest.mark.parametrize("clock", [ClockState.UNSYNCED, ClockState.BEHIND])
def test_untrusted_clock_is_clock_untrusted_when_policy_fails_closed(
    sample_set: samples.SampleSet, trust: TrustSnapshot, clock: ClockState
) -> None:
    policy = Policy(untrusted_clock=Enforcement.REJECT)
    verdict = _check(sample_set.by_name("valid").text, trust, clock=clock, policy=policy)
    assert verdict.reason is Reason.CLOCK_UNTRUSTED
    assert verdict.clock is clock


@pytest.mark.parametrize("clock", [ClockState.SYNCED, ClockState.PINNED])
def test_trusted_clock_accepts_when_policy_fails_closed_on_untrusted_clocks(
    sample_set: samples.SampleSet, trust: TrustSnapshot, clock: ClockState
) -> None:
    policy = Policy(untrusted_clock=Enforcement.REJECT)
    assert _check(sample_set.by_name("valid").text, trust, clock=clock, policy=policy).accepted


# --- the Verifier and the clock floor ------------------------------------------------


def _floor_clock(tmp_path: Path, wall: int) -> TrustedClock:
    return TrustedClock(tmp_path / "clock-floor", synced=lambda: False, wall=lambda: wall)


def test_verifier_uses_its_clock_and_current_snapshot(
    sample_set: samples.SampleSet, trust: TrustSnapshot
) -> None:
    verifier = Verifier(lambda: trust, PinnedClock(NOW + 40 * DAY))
    verdict = verifier.verify(sample_set.by_name("valid").text.encode())
    assert verdict.reason is Reason.EXPIRED
    assert verdict.now == NOW + 40 * DAY
    assert verdict.clock is ClockState.PINNED


def test_verifier_raises_the_clock_floor_from_a_verified_pass_iat(
    sample_set: samples.SampleSet, trust: TrustSnapshot, tmp_path: Path
) -> None:
    clock = _floor_clock(tmp_path, NOW)
    iat = NOW + 3 * DAY  # signed by a trusted issuer: the present is at least this late
    text = _issue(sample_set.keys.issuer, _info(issued_at=iat, not_before=NOW - DAY))
    verdict = Verifier(lambda: trust, clock).verify(text)
    assert verdict.accepted
    assert clock.floor == iat
    assert clock.now() == (iat, ClockState.BEHIND)


def test_verifier_raises_the_floor_from_a_verified_but_rejected_pass(
    sample_set: samples.SampleSet, trust: TrustSnapshot, tmp_path: Path
) -> None:
    clock = _floor_clock(tmp_path, NOW)
    text = _issue(sample_set.keys.issuer, _info(issued_at=NOW + 2 * DAY, not_before=NOW + DAY))
    verdict = Verifier(lambda: trust, clock).verify(text)
    assert verdict.reason is Reason.NOT_YET_VALID
    assert clock.floor == NOW + 2 * DAY


@pytest.mark.parametrize("attack", ["unknown-key", "bad-signature", "revoked-key"])
def test_verifier_does_not_raise_the_floor_from_an_unverified_pass(
    sample_set: samples.SampleSet, trust: TrustSnapshot, tmp_path: Path, attack: str
) -> None:
    far = NOW + 3650 * DAY  # a forger's iat that would expire every pass for good
    info = _info(issued_at=far, expires_at=far + DAY)
    used_trust = trust
    if attack == "unknown-key":
        text = _issue(SigningKey.generate(), info)
    elif attack == "bad-signature":
        genuine = parse_sign1(qrtext.unwrap(_issue(sample_set.keys.issuer, _info())))
        forged = cbor2.dumps(
            cbor2.CBORTag(
                COSE_SIGN1_TAG, [genuine.protected, {}, encode_claims(info), genuine.signature]
            )
        )
        text = qrtext.wrap(forged).encode()
    else:
        retired = IssuerKey(sample_set.keys.issuer.verify_key, 0, far + DAY, revoked=True)
        used_trust = _snapshot(sample_set, _bundle(sample_set, issuer=retired))
        text = _issue(sample_set.keys.issuer, info)
    clock = _floor_clock(tmp_path, NOW)
    verdict = Verifier(lambda: used_trust, clock).verify(text)
    assert not verdict.accepted
    assert clock.floor == 0
    assert clock.now() == (NOW, ClockState.UNSYNCED)


def test_a_revoked_pass_never_moves_the_floor(
    sample_set: samples.SampleSet, trust: TrustSnapshot, tmp_path: Path
) -> None:
    clock = _floor_clock(tmp_path, NOW)
    far = NOW + 20 * 365 * DAY
    revoked = _info(pass_id="P-000666", issued_at=far - DAY, not_before=NOW - DAY, expires_at=far)
    verdict = Verifier(lambda: trust, clock).verify(_issue(sample_set.keys.issuer, revoked))
    assert verdict.reason is Reason.REVOKED
    assert clock.floor < NOW + DAY


def test_a_forward_dated_pass_moves_the_floor_no_further_than_the_bundle_lets_it(
    sample_set: samples.SampleSet, trust: TrustSnapshot, tmp_path: Path
) -> None:
    clock = _floor_clock(tmp_path, NOW)
    far = NOW + 20 * 365 * DAY
    dated = _info(issued_at=far - DAY, not_before=far - DAY, expires_at=far)
    verdict = Verifier(lambda: trust, clock).verify(_issue(sample_set.keys.issuer, dated))
    assert verdict.reason is Reason.NOT_YET_VALID
    assert clock.floor <= trust.bundle.issued_at + trust.bundle.stale_after
    # A genuine pass of today is still accepted afterwards.
    assert Verifier(lambda: trust, clock).verify(_issue(sample_set.keys.issuer, _info())).accepted
