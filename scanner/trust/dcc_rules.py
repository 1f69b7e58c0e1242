"""The checkpoint's entry rules: DCC Gateway rules and value sets, signed by the `dcc` role key.

Rules and value sets travel as the gateway's JSON text inside the signed CBOR object: the
CertLogic is evaluated exactly as published, with no CBOR round trip of its numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from scanner.errors import SignedObjectError
from scanner.formats import strict_json
from scanner.formats.cose import deterministic_dumps, open_signed, sign1
from scanner.formats.hc1.rules import Rule, RuleError, parse_rule
from scanner.model import TrustState

RULES_TYPE = "checkpoint-dcc-rules"
DEFAULT_STALE_AFTER = 7 * 86400
MAX_RULES_BYTES = 8 * 1024 * 1024
MAX_RULES = 2000


class RuleSetError(ValueError):
    """A rule set is malformed or not signed by the bundle's dcc key."""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A verified rule set for one country of arrival (the checkpoint's own)."""

    version: int
    issued_at: int
    expires_at: int
    stale_after: int
    country: str
    rules: tuple[Rule, ...]
    value_sets: Mapping[str, Sequence[str]]
    raw: bytes = field(repr=False, compare=False)

    def state(self, now: int) -> TrustState:
        """Fresh, stale or expired at `now`."""
        if now >= self.expires_at:
            return TrustState.EXPIRED
        if now >= self.issued_at + self.stale_after:
            return TrustState.STALE
        return TrustState.FRESH


def value_sets_from_gateway(documents: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Gateway value set documents ({valueSetId, valueSetValues}) as id -> list of codes."""
    out: dict[str, list[str]] = {}
    for doc in documents:
        name, values = doc.get("valueSetId"), doc.get("valueSetValues")
        if isinstance(name, str) and isinstance(values, Mapping):
            out[name] = sorted(str(k) for k in values)
    return out


def encode_rules(
    key: SigningKey,
    *,
    version: int,
    issued_at: int,
    expires_at: int,
    country: str,
    rules: Iterable[Mapping[str, Any]],
    value_sets: Mapping[str, Sequence[str]],
    stale_after: int = DEFAULT_STALE_AFTER,
) -> bytes:
    """Sign a rule set with the dcc key (central side); every rule is parsed first."""
    texts = []
    for raw in rules:
        parse_rule(raw)  # refuse to sign what a unit would refuse to load
        texts.append(json.dumps(raw, ensure_ascii=False, separators=(",", ":")))
    body: dict[str, Any] = {
        "type": RULES_TYPE,
        "version": version,
        "issued_at": issued_at,
        "expires_at": expires_at,
        "stale_after": stale_after,
        "country": country,
        "rules": texts,
        "value_sets": json.dumps(dict(value_sets), separators=(",", ":")),
    }
    return sign1(deterministic_dumps(body), key)


def _int(body: Mapping[Any, Any], name: str, low: int = 0) -> int:
    value = body.get(name)
    if type(value) is not int or not low <= value < 2**40:
        raise RuleSetError(f"rule set field {name!r} must be an integer >= {low}")
    return value


def _value_sets(text: Any) -> dict[str, list[str]]:
    try:
        doc = strict_json.loads(text, "value_sets") if isinstance(text, str) else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not all(
        isinstance(v, list) and all(isinstance(c, str) for c in v) for v in doc.values()
    ):
        raise RuleSetError("rule set value_sets must map names to lists of codes")
    return doc


def parse_rules(data: bytes, key: VerifyKey) -> RuleSet:
    """Verify a rule set against the dcc key and decode it; raises RuleSetError."""
    if len(data) > MAX_RULES_BYTES:
        raise RuleSetError(f"rule set is {len(data)} bytes, limit {MAX_RULES_BYTES}")
    try:
        body = open_signed(data, key, RULES_TYPE, 4, "rule set")
    except SignedObjectError as exc:
        if exc.code == "bad_signature":
            raise RuleSetError("rule set is not signed by the bundle's dcc key") from None
        raise RuleSetError(str(exc)) from None
    texts = body.get("rules")
    country = body.get("country")
    if not isinstance(texts, list) or len(texts) > MAX_RULES:
        raise RuleSetError(f"rule set 'rules' must be a list of at most {MAX_RULES}")
    if not isinstance(country, str) or not 2 <= len(country) <= 3:
        raise RuleSetError("rule set 'country' must be a country code")
    rules = []
    for text in texts:
        try:
            rule = strict_json.loads(text, "rule") if isinstance(text, str) else None
            rules.append(parse_rule(rule))
        except (ValueError, RuleError) as exc:
            raise RuleSetError(f"rule set holds a bad rule: {exc}") from None
    issued_at, expires_at = _int(body, "issued_at"), _int(body, "expires_at")
    if expires_at <= issued_at:
        raise RuleSetError("rule set expires before it was issued")
    return RuleSet(
        version=_int(body, "version", 1),
        issued_at=issued_at,
        expires_at=expires_at,
        stale_after=_int(body, "stale_after", 1),
        country=country,
        rules=tuple(rules),
        value_sets=_value_sets(body.get("value_sets")),
        raw=data,
    )
