"""Entry rules in the DCC Gateway format, evaluated with CertLogic against one certificate.

A rule set is the checkpoint's copy of one country's rules (`Identifier`, `Type`, `Country`,
`Version`, `CertificateType`, `ValidFrom`/`ValidTo`, `Logic`, ...). At the checkpoint the
rules in force at the validation clock for the certificate's type are evaluated; a rule that
does not yield `true` (including one that errors, as the CertLogic spec advises) refuses.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scanner.formats.certlogic import CertLogicError, evaluate
from scanner.formats.certlogic.dates import DateError, parse
from scanner.formats.hc1.dsc import CertType

_TYPE_NAMES = {
    CertType.VACCINATION: "Vaccination",
    CertType.TEST: "Test",
    CertType.RECOVERY: "Recovery",
}
GENERAL = "General"


class RuleError(ValueError):
    """A rule object is not in the DCC Gateway rule format."""


class Outcome(enum.StrEnum):
    """What one rule said about one certificate."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the expression could not be evaluated: counts as failed


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule, with the fields selection and evaluation need."""

    identifier: str
    type: str
    country: str
    version: tuple[int, ...]
    certificate_type: str
    valid_from: datetime
    valid_to: datetime
    logic: Any
    description: str = ""

    def applies(self, at: datetime, cert_type: CertType | None) -> bool:
        """In force at `at` and about this kind of certificate (or about all kinds)."""
        if not self.valid_from <= at < self.valid_to:
            return False
        if self.certificate_type == GENERAL:
            return True
        return cert_type is not None and self.certificate_type == _TYPE_NAMES[cert_type]


@dataclass(frozen=True, slots=True)
class RuleResult:
    """A rule's outcome for one certificate; `detail` says why it errored."""

    rule: str
    outcome: Outcome
    detail: str = ""

    @property
    def passed(self) -> bool:
        """Whether the rule passed."""
        return self.outcome is Outcome.PASSED


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise RuleError(f"rule field {key} must be a non-empty string")
    return value


def _time(raw: Mapping[str, Any], key: str) -> datetime:
    try:
        return parse(_text(raw, key))
    except DateError as exc:
        raise RuleError(f"rule field {key}: {exc}") from None


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split("."))
    except ValueError:
        raise RuleError(f"rule version {text!r} is not dotted numbers") from None


def parse_rule(raw: Any) -> Rule:
    """A Rule from its gateway JSON; raises RuleError."""
    if not isinstance(raw, Mapping):
        raise RuleError("a rule is a JSON object")
    if raw.get("Engine", "CERTLOGIC") != "CERTLOGIC":
        raise RuleError("only CERTLOGIC rules can be evaluated")
    if "Logic" not in raw:
        raise RuleError("rule has no Logic")
    cert_type = _text(raw, "CertificateType")
    if cert_type not in (GENERAL, *_TYPE_NAMES.values()):
        raise RuleError(f"unknown CertificateType {cert_type!r}")
    descriptions = raw.get("Description")
    english = ""
    if isinstance(descriptions, list):
        english = next(
            (
                d.get("desc", "")
                for d in descriptions
                if isinstance(d, dict) and d.get("lang") == "en"
            ),
            "",
        )
    return Rule(
        identifier=_text(raw, "Identifier"),
        type=_text(raw, "Type"),
        country=_text(raw, "Country"),
        version=_version(_text(raw, "Version")),
        certificate_type=cert_type,
        valid_from=_time(raw, "ValidFrom"),
        valid_to=_time(raw, "ValidTo"),
        logic=raw["Logic"],
        description=str(english),
    )


def evaluate_rule(rule: Rule, payload: Any, external: Mapping[str, Any]) -> RuleResult:
    """Evaluate one rule on `{payload, external}`; only a result of `true` passes."""
    try:
        value = evaluate(rule.logic, {"payload": payload, "external": dict(external)})
    except CertLogicError as exc:
        return RuleResult(rule.identifier, Outcome.ERROR, str(exc))
    return RuleResult(rule.identifier, Outcome.PASSED if value is True else Outcome.FAILED)


def in_force(rules: Iterable[Rule], at: datetime, cert_type: CertType | None) -> list[Rule]:
    """The rules that apply, one per identifier: the highest version in force wins."""
    best: dict[str, Rule] = {}
    for rule in rules:
        if rule.type != "Acceptance" or not rule.applies(at, cert_type):
            continue
        held = best.get(rule.identifier)
        if held is None or rule.version > held.version:
            best[rule.identifier] = rule
    return [best[k] for k in sorted(best)]


def external_parameters(
    now: int,
    *,
    country: str,
    value_sets: Mapping[str, Sequence[str]],
    issued_at: int | None,
    expires_at: int | None,
    issuer_country: str | None = None,
) -> dict[str, Any]:
    """The `external` object the gateway's rules are written against."""

    def iso(t: int | None) -> str | None:
        if t is None:
            return None
        return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")

    return {
        "validationClock": iso(now),
        "valueSets": {k: list(v) for k, v in value_sets.items()},
        "countryCode": country,
        "exp": iso(expires_at),
        "iat": iso(issued_at),
        "issuerCountryCode": issuer_country,
    }


def first_failure(
    rules: Iterable[Rule], payload: Any, external: Mapping[str, Any]
) -> RuleResult | None:
    """Evaluate the rules in order; the first that does not pass, or None when all pass."""
    for rule in rules:
        result = evaluate_rule(rule, payload, external)
        if not result.passed:
            return result
    return None
