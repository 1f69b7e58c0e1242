"""CWT claims of an hcert (iss, iat, exp, hcert/-260/1) and the DCC inside them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from scanner.formats.hc1.dsc import CertType

CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_HCERT = -260
HCERT_EU_DCC = 1
MAX_TIME = 2**40  # seconds; anything larger is a type confusion


class ClaimsError(ValueError):
    """The payload is not an hcert CWT claims set."""


@dataclass(frozen=True, slots=True)
class Claims:
    """The signed facts of a DCC that the verifier decides on."""

    issuer: str | None
    issued_at: int | None
    expires_at: int | None
    dcc: dict[str, Any]
    cert_type: CertType | None  # None when the DCC holds no entry or more than one kind

    @property
    def ci(self) -> str | None:
        """The unique certificate identifier of the (first) entry."""
        if self.cert_type is None:
            return None
        entries = self.dcc.get(self.cert_type)  # a StrEnum is its own key
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            ci = entries[0].get("ci")
            return ci if isinstance(ci, str) else None
        return None


def _time(value: Any, what: str) -> int | None:
    if value is None:
        return None
    # Issuers write integers; a few write floats (CWT NumericDate allows them).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimsError(f"{what} is not a NumericDate")
    if not 0 <= value < MAX_TIME:
        raise ClaimsError(f"{what} is out of range")
    return int(value)


_CERT_TYPES = tuple(CertType)


def cert_type(dcc: dict[str, Any]) -> CertType | None:
    """The one kind of entry a DCC holds, or None when it holds none or several."""
    # A StrEnum member is its own str key: no `.value` (an enum property) per lookup.
    present = [t for t in _CERT_TYPES if isinstance(dcc.get(t), list) and dcc[t]]
    return present[0] if len(present) == 1 else None


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_json(value: Any) -> bool:
    """Whether `value` is JSON already: dicts with str keys, lists and JSON scalars only.

    Exact types, so that the common DCC (every issuer's untagged CBOR decodes so) is taken
    as it is, without the copy and the ABC checks of `as_json`.
    """
    scalars = _JSON_SCALARS
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            if type(item) not in scalars and not _is_json(item):
                return False
        return True
    if kind is list:
        return all(type(item) in scalars or _is_json(item) for item in value)
    return kind in scalars


def as_json(value: Any) -> Any:
    """The DCC as the JSON the schema and the rules are written for; raises ClaimsError.

    Some issuers tag date-times (CBOR tag 0, e.g. a test's `sc`): they become the RFC 3339
    text the schema expects. Byte strings, undefined and other non-JSON values are refused.
    """
    if _is_json(value):
        return value
    return _converted(value)


def _converted(value: Any) -> Any:
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise ClaimsError("DCC map keys must be strings")
        return {k: _converted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_converted(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ClaimsError(f"DCC holds a {type(value).__name__}, which JSON cannot")


def decode(payload: Any) -> Claims:
    """Claims from the decoded CWT payload; raises ClaimsError."""
    if not isinstance(payload, Mapping):
        raise ClaimsError("CWT payload is not a map")
    hcert = payload.get(CLAIM_HCERT)
    if not isinstance(hcert, Mapping) or not isinstance(hcert.get(HCERT_EU_DCC), Mapping):
        raise ClaimsError("no hcert claim with an EU DCC")
    dcc = as_json(hcert[HCERT_EU_DCC])
    if not isinstance(dcc, dict):
        raise ClaimsError("DCC is not a map with string keys")
    issuer = payload.get(CLAIM_ISS)
    if issuer is not None and not isinstance(issuer, str):
        raise ClaimsError("iss is not a string")
    return Claims(
        issuer=issuer,
        issued_at=_time(payload.get(CLAIM_IAT), "iat"),
        expires_at=_time(payload.get(CLAIM_EXP), "exp"),
        dcc=dcc,
        cert_type=cert_type(dcc),
    )
