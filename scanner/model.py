"""Value types shared downstream of the decoder: reasons, verdicts, trust and clock states."""

from __future__ import annotations

import enum
from dataclasses import KW_ONLY, dataclass


class Outcome(enum.StrEnum):
    """The two answers a verdict can give."""

    ACCEPT = "accept"
    REJECT = "reject"


class Reason(enum.StrEnum):
    """Why a code was rejected: a closed set, documented in docs/pass-format.md."""

    NOT_A_PASS = "not_a_pass"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_KEY = "unknown_key"
    KEY_NOT_VALID = "key_not_valid"
    BAD_SIGNATURE = "bad_signature"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    TRUST_EXPIRED = "trust_expired"
    CLOCK_UNTRUSTED = "clock_untrusted"
    # EU DCC (HC1) only, docs/credentials.md:
    WRONG_KEY_USAGE = "wrong_key_usage"  # the DSC may not sign this kind of certificate
    RULE_FAILED = "rule_failed"  # an entry rule refused it; the rule's id is on the verdict


class TrustState(enum.StrEnum):
    """Age of the trust bundle the verdict was made with."""

    FRESH = "fresh"
    STALE = "stale"
    EXPIRED = "expired"


class RevocationState(enum.StrEnum):
    """How current the revocation data the verdict was made with is (scanner.trust.freshness)."""

    FRESH = "fresh"
    STALE = "stale"  # no update for longer than policy.revocations_stale_after_s
    GAPPED = "gapped"  # a numbered update is missing, or a new revocation key awaits its snapshot


class ClockState(enum.StrEnum):
    """How far the clock used for the verdict can be believed."""

    SYNCED = "synced"  # NTP (or an RTC) vouches for the system clock
    UNSYNCED = "unsynced"  # no sync evidence; the clock is at or above the floor
    BEHIND = "behind"  # system clock below the persisted floor; the floor was used
    PINNED = "pinned"  # set explicitly (`scan --at`, tests)


class PassKind(enum.IntEnum):
    """What a pass is for; the integer is what the pass carries."""

    TRAVEL = 1
    TEST = 2  # a technician's test card: verified like a pass, never logged as a scan


@dataclass(frozen=True, slots=True)
class Holder:
    """The least an officer needs to match a pass to a citizen ID card."""

    name: str
    id_last4: str


@dataclass(frozen=True, slots=True)
class HealthCertificate:
    """What an officer is shown of an EU DCC: as signed, for matching to a passport.

    Never logged or sent: events carry only the pass ID (a hash of the certificate ID).
    """

    kind: str  # "v" vaccination, "t" test, "r" recovery
    family_name: str  # as signed, possibly in a script the display cannot draw
    given_name: str
    family_name_latin: str  # the ICAO 9303 transliteration (fnt/gnt)
    given_name_latin: str
    date_of_birth: str  # YYYY, YYYY-MM or YYYY-MM-DD, as signed
    country: str  # the issuing country
    dose: int | None = None  # vaccination: dose n of m, on date
    doses: int | None = None
    date: str | None = None  # vaccination date, test sample time, or first positive result
    test_type: str | None = None  # test: the value set code (LP6464-4 NAAT, LP217198-3 RAT)
    valid_from: str | None = None  # recovery: validity of the certificate
    valid_until: str | None = None


@dataclass(frozen=True, slots=True)
class PassInfo:
    """The signed facts of a pass that verified (or got as far as its claims)."""

    pass_id: str
    issuer: str
    kid: bytes
    kind: PassKind
    holder: Holder
    issued_at: int
    not_before: int
    expires_at: int
    certificate: HealthCertificate | None = None  # EU DCC passes only


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one QR text. Built by the verifier for every input; never raised."""

    outcome: Outcome
    reason: Reason | None
    trust: TrustState | None
    clock: ClockState
    now: int
    kid: bytes | None = None
    info: PassInfo | None = None
    bundle_version: int | None = None
    revocation_serial: int | None = None
    # Keyword-only from here: two branches each appended a field, and a positional
    # RevocationState (a str enum) slid into `format` with no type error.
    _: KW_ONLY
    format: str = "cp1"  # the credential format that decided: "cp1" or "hc1"
    rule_id: str | None = None  # rule_failed: the identifier of the rule that refused
    schema_valid: bool | None = None  # hc1: the DCC against the EU DCC JSON schema
    revocations: RevocationState | None = None

    @property
    def accepted(self) -> bool:
        """Whether the outcome is accept."""
        return self.outcome is Outcome.ACCEPT

    @property
    def pass_id(self) -> str | None:
        """The pass ID, None where the pass was not read."""
        return self.info.pass_id if self.info is not None else None

    @property
    def test_card(self) -> bool:
        """A signed test card, accepted or not: never a traveller scan in any log or count."""
        return self.info is not None and self.info.kind is PassKind.TEST

    @property
    def label(self) -> str:
        """What outputs call it: ``test_card`` for an accepted test card, else the outcome.

        A technician's card is never shown or counted as a traveller's ``accept``;
        a refused one stays ``reject`` (with its kind ``test`` beside it).
        """
        return "test_card" if self.test_card and self.accepted else self.outcome.value


# -- the unit's health: what the background light, the screen and heartbeats report ----------


class Fill(enum.IntEnum):
    """How full the store is, as the alert thresholds of the issue (percent of the bound)."""

    OK = 0
    HALF = 50
    HIGH = 80
    CRITICAL = 95


class DeviceState(enum.StrEnum):
    """The background pattern shown while no signal is."""

    IDLE = "idle"  # all off
    DEGRADED = "degraded"  # still verifying, but trust data stale, clock untrusted or outbox full
    FAULT = "fault"  # not verifying: no camera


@dataclass(frozen=True, slots=True)
class Health:
    """Everything that decides the background light, with the reasons."""

    camera_ok: bool
    trust: TrustState
    clock: ClockState
    outbox_fill: Fill
    unlogged: int = 0  # decisions shown that the outbox could not take (held in memory)
    revocations: RevocationState = RevocationState.FRESH

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the unit is not idle, as short codes (no_camera, ...)."""
        found = []
        if not self.camera_ok:
            found.append("no_camera")
        if self.trust is not TrustState.FRESH:
            found.append(f"trust_{self.trust.value}")
        if self.revocations is not RevocationState.FRESH:
            found.append(f"revocations_{self.revocations.value}")
        if self.clock in (ClockState.UNSYNCED, ClockState.BEHIND):
            found.append(f"clock_{self.clock.value}")
        if self.outbox_fill >= Fill.HIGH:
            found.append(f"outbox_{int(self.outbox_fill)}pct")
        if self.unlogged:
            found.append("log_failed")
        return tuple(found)

    @property
    def state(self) -> DeviceState:
        """The device state the lamps show for this health."""
        if not self.camera_ok:
            return DeviceState.FAULT
        return DeviceState.DEGRADED if self.reasons else DeviceState.IDLE
