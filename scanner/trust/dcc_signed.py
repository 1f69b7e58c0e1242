"""What the dcc role key signs (the DSC list, the rule set), opened and dated one way.

Both are a COSE_Sign1 over a CBOR map with a type, a version and a validity window;
only their contents differ. Each keeps its own error class, so a refusal still names
the object it was about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nacl.signing import VerifyKey

from scanner.errors import SignedObjectError
from scanner.formats.cose import open_signed
from scanner.model import TrustState

_MAX_DEPTH = 4  # a map of lists of entries: nothing dcc-signed nests deeper


@dataclass(frozen=True, slots=True)
class DccObjectKind:
    """One kind of dcc-signed object: its type tag, its name in errors, size limit, error."""

    object_type: str
    what: str  # "rule set", "DSC list": how its errors name it
    max_bytes: int
    error: type[ValueError]


@dataclass(frozen=True, slots=True)
class Validity:
    """The header every dcc-signed object carries: its version and when it is in force."""

    version: int
    issued_at: int
    expires_at: int
    stale_after: int


def open_dcc_signed(data: bytes, key: VerifyKey, kind: DccObjectKind) -> dict[Any, Any]:
    """The payload map of `data` once its size and the dcc key's signature are checked.

    Raises the kind's error, naming it, for an object over its size limit, one not
    signed by the dcc key, or one that is not a map of its type.
    """
    what, max_bytes, error = kind.what, kind.max_bytes, kind.error
    if len(data) > max_bytes:
        raise error(f"{what} is {len(data)} bytes, limit {max_bytes}")
    try:
        return open_signed(data, key, kind.object_type, _MAX_DEPTH, what)
    except SignedObjectError as exc:
        if exc.code == "bad_signature":
            raise error(f"{what} is not signed by the bundle's dcc key") from None
        raise error(str(exc)) from None


def validity(body: Mapping[Any, Any], kind: DccObjectKind) -> Validity:
    """The version and validity window of an opened object; raises the kind's error."""
    what, error = kind.what, kind.error

    def number(name: str, low: int = 0) -> int:
        value = body.get(name)
        if type(value) is not int or not low <= value < 2**40:
            raise error(f"{what} field {name!r} must be an integer >= {low}")
        return value

    issued_at, expires_at = number("issued_at"), number("expires_at")
    if expires_at <= issued_at:
        raise error(f"{what} expires before it was issued")
    return Validity(number("version", 1), issued_at, expires_at, number("stale_after", 1))


def state_at(now: int, issued_at: int, stale_after: int, expires_at: int) -> TrustState:
    """Fresh, stale or expired at `now`, for an object issued and valid as given."""
    if now >= expires_at:
        return TrustState.EXPIRED
    if now >= issued_at + stale_after:
        return TrustState.STALE
    return TrustState.FRESH
