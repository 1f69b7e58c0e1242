"""What the officer display shows, as a value: a pure function of a verdict or the unit state."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scanner.display.catalogue import duration_text, kind_text, reason_text, text
from scanner.display.certificate import birth_and_country, holder_name, what_it_is
from scanner.display.config import Language
from scanner.model import (
    ClockState,
    Fill,
    Health,
    PassKind,
    Reason,
    RevocationState,
    TrustState,
    Verdict,
)


class Size(enum.IntEnum):
    """How large a line is drawn, largest first."""

    HUGE = 0  # the verdict word, read from arm's length
    LARGE = 1
    NORMAL = 2
    SMALL = 3


class Tone(enum.StrEnum):
    """The screen's colour scheme; the words carry the meaning, colour only repeats it."""

    ACCEPT = "accept"
    REJECT = "reject"
    TEST = "test"
    READY = "ready"
    WARN = "warn"


class Kind(enum.StrEnum):
    """Which screen this is, for the display thread's rules (a verdict is not cut short)."""

    VERDICT = "verdict"
    UNREADABLE = "unreadable"
    STATUS = "status"


class Priority(enum.IntEnum):
    """Which lines a small screen may leave out, least needed last."""

    ESSENTIAL = 0
    USEFUL = 1
    FOOTER = 2


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a screen: its text, size and weight."""

    text: str
    size: Size = Size.NORMAL
    bold: bool = False
    priority: Priority = Priority.ESSENTIAL


@dataclass(frozen=True, slots=True)
class Screen:
    """A whole screen: what to write, how large, in which colours."""

    kind: Kind
    tone: Tone
    lines: tuple[Line, ...]

    @property
    def text(self) -> str:
        """The screen as text, one line per line."""
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True, slots=True)
class UnitStatus:
    """The unit's state as the ready screen shows it; `None` health means not known yet."""

    health: Health | None = None
    offline_since: float | None = None  # wall time the uplink was last connected; None: online


@dataclass(frozen=True, slots=True)
class Locale:
    """Language, local time and checkpoint label: the fixed context of every screen."""

    language: Language = "vi"
    utc_offset_min: int = 420
    label: str = ""

    def local(self, seconds: float) -> datetime:
        """Unix seconds as local time at the checkpoint."""
        return datetime.fromtimestamp(seconds, UTC) + timedelta(minutes=self.utc_offset_min)

    def date(self, seconds: float) -> str:
        """Unix seconds as a local day, day first."""
        # Day first: how dates are written in Vietnam (and asked for in the issue).
        return self.local(seconds).strftime("%d/%m/%Y")

    def clock(self, seconds: float) -> str:
        """Unix seconds as local hours, minutes and day."""
        return self.local(seconds).strftime("%H:%M %d/%m/%Y")


def shown(raw: str) -> str:
    """Signed text made safe to draw: NFC, without control or format characters.

    NFC is the same text canonically, but one precomposed code point per letter
    draws correctly without a shaping engine; controls are dropped because a
    tty would obey an escape sequence hidden in a holder's name.
    """
    composed = unicodedata.normalize("NFC", raw)
    return "".join(c for c in composed if unicodedata.category(c) not in ("Cc", "Cf")).strip()


def masked_id(locale: Locale, last4: str) -> str:
    """The ID label and the last four digits, the rest masked."""
    # A citizen ID card number has 12 digits; the pass signs only the last four.
    return f"{text(locale.language, 'id_label')} •••• •••• {shown(last4)}"


def _footer(locale: Locale) -> tuple[Line, ...]:
    if not locale.label:
        return ()
    label = text(locale.language, "checkpoint", label=shown(locale.label))
    return (Line(label, Size.SMALL, priority=Priority.FOOTER),)


def _warnings(locale: Locale, trust: TrustState | None, clock: ClockState) -> tuple[Line, ...]:
    """Degraded conditions an accept was made under (policy set to warn)."""
    lang = locale.language
    found = []
    if trust is TrustState.STALE:
        found.append(text(lang, "state.trust_stale"))
    elif trust is TrustState.EXPIRED:
        found.append(text(lang, "state.trust_expired"))
    if clock is ClockState.UNSYNCED:
        found.append(text(lang, "state.clock_unsynced"))
    elif clock is ClockState.BEHIND:
        found.append(text(lang, "state.clock_behind"))
    return tuple(Line(w, Size.SMALL, priority=Priority.USEFUL) for w in found)


def verdict_screen(verdict: Verdict, locale: Locale) -> Screen:
    """Accept: word, name, masked ID, kind and end. Reject: word and reason. Test card: itself."""
    lang = locale.language
    info = verdict.info
    is_test = info is not None and info.kind is PassKind.TEST
    if not verdict.accepted:
        assert verdict.reason is not None, "a reject always carries its reason"
        date = locale.date(info.expires_at if info else verdict.now)
        if info is not None and verdict.reason is Reason.NOT_YET_VALID:
            date = locale.date(info.not_before)
        lines = [
            Line(text(lang, "reject"), Size.HUGE, bold=True),
            Line(
                reason_text(lang, verdict.reason, date, verdict.rule_id or ""),
                Size.LARGE,
                bold=True,
            ),
        ]
        if is_test:
            lines.append(Line(text(lang, "test_card_rejected"), Size.NORMAL))
        return Screen(Kind.VERDICT, Tone.REJECT, (*lines, *_footer(locale)))
    assert info is not None, "an accept always carries the pass"
    warnings = _warnings(locale, verdict.trust, verdict.clock)
    if is_test:
        # Never the holder lines: a test card must not pass for a traveller.
        lines = [
            Line(text(lang, "test_card"), Size.HUGE, bold=True),
            Line(text(lang, "test_card_ok"), Size.LARGE, bold=True),
            Line(text(lang, "test_card_note"), Size.NORMAL, priority=Priority.USEFUL),
        ]
        return Screen(Kind.VERDICT, Tone.TEST, (*lines, *warnings, *_footer(locale)))
    until = text(lang, "valid_until", date=locale.date(info.expires_at))
    cert = info.certificate
    if cert is not None:
        # An EU DCC: no ID card number is signed; date of birth and country stand in for it.
        lines = [
            Line(text(lang, "accept"), Size.HUGE, bold=True),
            Line(shown(holder_name(cert)), Size.LARGE, bold=True),
            Line(shown(birth_and_country(lang, cert)), Size.NORMAL, bold=True),
            Line(shown(what_it_is(lang, cert)), Size.NORMAL),
            Line(f"{text(lang, 'dcc.kind')} · {until}", Size.NORMAL, priority=Priority.USEFUL),
        ]
        return Screen(Kind.VERDICT, Tone.ACCEPT, (*lines, *warnings, *_footer(locale)))
    lines = [
        Line(text(lang, "accept"), Size.HUGE, bold=True),
        Line(shown(info.holder.name), Size.LARGE, bold=True),
        Line(masked_id(locale, info.holder.id_last4), Size.NORMAL, bold=True),
        Line(f"{kind_text(lang, info.kind)} · {until}", Size.NORMAL),
    ]
    return Screen(Kind.VERDICT, Tone.ACCEPT, (*lines, *warnings, *_footer(locale)))


def unreadable_screen(locale: Locale) -> Screen:
    """A code was seen but not read: ask for it again."""
    lang = locale.language
    lines = (
        Line(text(lang, "unreadable"), Size.HUGE, bold=True),
        Line(text(lang, "unreadable_note"), Size.LARGE, bold=True),
    )
    return Screen(Kind.UNREADABLE, Tone.WARN, (*lines, *_footer(locale)))


def state_lines(locale: Locale, status: UnitStatus, now: float) -> tuple[str, ...]:
    """Why the unit is degraded, in words; empty when all is well."""
    lang, health = locale.language, status.health
    found: list[str] = []
    if health is not None:
        if not health.camera_ok:
            found.append(text(lang, "state.no_camera"))
        if health.trust is not TrustState.FRESH:
            found.append(text(lang, f"state.trust_{health.trust.value}"))
        if health.revocations is not RevocationState.FRESH:
            found.append(text(lang, f"state.revocations_{health.revocations.value}"))
        if health.clock in (ClockState.UNSYNCED, ClockState.BEHIND):
            found.append(text(lang, f"state.clock_{health.clock.value}"))
        if health.outbox_fill >= Fill.HIGH:
            found.append(text(lang, "state.outbox", pct=int(health.outbox_fill)))
        if health.unlogged:
            found.append(text(lang, "state.log_failed"))
    if status.offline_since is not None:
        duration = duration_text(lang, now - status.offline_since)
        found.append(text(lang, "state.offline", duration=duration))
    return tuple(found)


def status_screen(status: UnitStatus, locale: Locale, now: float) -> Screen:
    """The ready screen: checkpoint label, and the unit's state when it is degraded."""
    lang = locale.language
    states = state_lines(locale, status, now)
    scanning = status.health is None or status.health.camera_ok
    word = text(lang, "ready" if scanning else "not_scanning")
    tone = Tone.READY if not states else Tone.WARN
    lines = [Line(word, Size.HUGE, bold=True)]
    if locale.label:
        label = text(lang, "checkpoint", label=shown(locale.label))
        lines.append(Line(label, Size.LARGE, bold=True))
    lines += [Line(s, Size.NORMAL, bold=True) for s in states]
    lines.append(Line(locale.clock(now), Size.SMALL, priority=Priority.FOOTER))
    return Screen(Kind.STATUS, tone, tuple(lines))


def compose(subject: Verdict | UnitStatus | None, locale: Locale, now: float) -> Screen:
    """The screen for a verdict, for the unit's state, or (None) for an unreadable code."""
    if isinstance(subject, Verdict):
        return verdict_screen(subject, locale)
    if isinstance(subject, UnitStatus):
        return status_screen(subject, locale, now)
    return unreadable_screen(locale)
