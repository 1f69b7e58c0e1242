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
        entries = self.dcc.get(self.cert_type.value)
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


def cert_type(dcc: dict[str, Any]) -> CertType | None:
    """The one kind of entry a DCC holds, or None when it holds none or several."""
    present = [t for t in CertType if isinstance(dcc.get(t.value), list) and dcc[t.value]]
    return present[0] if len(present) == 1 else None


def as_json(value: Any) -> Any:
    """The DCC as the JSON the schema and the rules are written for; raises ClaimsError.

    Some issuers tag date-times (CBOR tag 0, e.g. a test's `sc`): they become the RFC 3339
    text the schema expects. Byte strings, undefined and other non-JSON values are refused.
    """
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise ClaimsError("DCC map keys must be strings")
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
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
