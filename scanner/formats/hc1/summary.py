"""The officer's view of a DCC (name, date of birth, what it certifies) and its pass ID."""

from __future__ import annotations

import hashlib
from typing import Any

from scanner.formats.hc1.claims import Claims
from scanner.model import HealthCertificate

MAX_FIELD = 80  # names are capped at 80 characters by the schema; so is anything shown


def pass_id(ci: str) -> str:
    """The pass ID of a DCC: the first 16 bytes of SHA-256 of its `ci`, in hex.

    The certificate identifier itself can be looked up in the issuer's registry and is
    never logged: the hash still lets revocations and contact tracing name the certificate.
    """
    return hashlib.sha256(ci.encode("utf-8")).digest()[:16].hex()


def _text(value: Any) -> str:
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt(value: Any) -> str | None:
    return value[:MAX_FIELD] if isinstance(value, str) and value else None


def summarise(claims: Claims) -> HealthCertificate | None:
    """What the display shows, or None when the DCC holds no single kind of entry."""
    kind = claims.cert_type
    if kind is None:
        return None
    dcc = claims.dcc
    raw_names = dcc.get("nam")
    names: dict[str, Any] = raw_names if isinstance(raw_names, dict) else {}
    entry = dcc[kind][0] if isinstance(dcc[kind][0], dict) else {}
    # One constructor call per kind (no dataclasses.replace, no enum `.value`): this runs
    # on every scan, beside a signature check of 50-100 us.
    dose = doses = test_type = valid_from = valid_until = None
    if kind == "v":
        dose, doses, day = _int(entry.get("dn")), _int(entry.get("sd")), _opt(entry.get("dt"))
    elif kind == "t":
        day, test_type = _opt(entry.get("sc")), _opt(entry.get("tt"))
    else:
        day = _opt(entry.get("fr"))
        valid_from, valid_until = _opt(entry.get("df")), _opt(entry.get("du"))
    return HealthCertificate(
        kind=str(kind),
        family_name=_text(names.get("fn")),
        given_name=_text(names.get("gn")),
        family_name_latin=_text(names.get("fnt")),
        given_name_latin=_text(names.get("gnt")),
        date_of_birth=_text(dcc.get("dob")),
        country=_text(claims.issuer or _text(entry.get("co"))),
        dose=dose,
        doses=doses,
        date=day,
        test_type=test_type,
        valid_from=valid_from,
        valid_until=valid_until,
    )
