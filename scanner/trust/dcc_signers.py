"""The DSC list: the EU DCC signer certificates a unit trusts, signed by the `dcc` role key.

The root stays offline and DSCs change weekly, so the root-signed bundle names a `dcc` key
and that key signs this list. Each entry is what the verifier needs and nothing it would
have to parse at scan time: kid, country, SubjectPublicKeyInfo, validity, certificate types.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from scanner.errors import SignedObjectError
from scanner.formats.cose import deterministic_dumps, open_signed, sign1
from scanner.formats.hc1.dsc import CertType, Signer
from scanner.model import TrustState

SIGNERS_TYPE = "checkpoint-dcc-signers"
DEFAULT_STALE_AFTER = 7 * 86400
MAX_SIGNERS_BYTES = 32 * 1024 * 1024  # 100,000 RSA-4096 DSCs fit; more is not a trust list
MAX_SIGNERS = 100_000
_TYPE_LETTERS = {t.value: t for t in CertType}


class DscListError(ValueError):
    """A DSC list is malformed or not signed by the bundle's dcc key."""


@dataclass(frozen=True, slots=True)
class DscList:
    """A verified DSC list; `raw` is the signed bytes as received, kept for persistence."""

    version: int
    issued_at: int
    expires_at: int
    stale_after: int
    by_kid: dict[bytes, tuple[Signer, ...]]
    count: int
    raw: bytes = field(repr=False, compare=False)

    def lookup(self, kid: bytes) -> tuple[Signer, ...]:
        """Every DSC with this kid (8 bytes of a hash: collisions are possible)."""
        return self.by_kid.get(kid, ())

    def state(self, now: int) -> TrustState:
        """Fresh, stale or expired at `now`."""
        if now >= self.expires_at:
            return TrustState.EXPIRED
        if now >= self.issued_at + self.stale_after:
            return TrustState.STALE
        return TrustState.FRESH


def encode_signers(
    key: SigningKey,
    *,
    version: int,
    issued_at: int,
    expires_at: int,
    signers: Iterable[Signer],
    stale_after: int = DEFAULT_STALE_AFTER,
) -> bytes:
    """Sign a DSC list with the dcc key (central side)."""
    entries = [
        [
            s.kid,
            s.country,
            s.spki,
            s.not_before,
            s.not_after,
            "".join(sorted(t.value for t in s.types)),
        ]
        for s in signers
    ]
    body: dict[str, Any] = {
        "type": SIGNERS_TYPE,
        "version": version,
        "issued_at": issued_at,
        "expires_at": expires_at,
        "stale_after": stale_after,
        "signers": entries,
    }
    return sign1(deterministic_dumps(body), key)


def _int(body: dict[Any, Any], name: str, low: int = 0) -> int:
    value = body.get(name)
    if type(value) is not int or not low <= value < 2**40:
        raise DscListError(f"DSC list field {name!r} must be an integer >= {low}")
    return value


def _signer(entry: Any) -> Signer:
    if not isinstance(entry, list) or len(entry) != 6:
        raise DscListError("each DSC entry is [kid, country, spki, not_before, not_after, types]")
    kid, country, spki, not_before, not_after, types = entry
    if not isinstance(kid, bytes) or len(kid) != 8:
        raise DscListError("DSC kid must be 8 bytes")
    if not isinstance(country, str) or len(country) > 3 or not isinstance(spki, bytes):
        raise DscListError("DSC country must be a country code and spki bytes")
    if type(not_before) is not int or type(not_after) is not int or not_after < not_before:
        raise DscListError("DSC validity must be two ordered integers")
    if not isinstance(types, str) or not types or any(c not in _TYPE_LETTERS for c in types):
        raise DscListError("DSC types must be letters of t, v, r")
    kinds = frozenset(_TYPE_LETTERS[c] for c in types)
    return Signer(kid, country, spki, not_before, not_after, kinds)


def parse_signers(data: bytes, key: VerifyKey) -> DscList:
    """Verify a DSC list against the dcc key and decode it; raises DscListError."""
    if len(data) > MAX_SIGNERS_BYTES:
        raise DscListError(f"DSC list is {len(data)} bytes, limit {MAX_SIGNERS_BYTES}")
    try:
        body = open_signed(data, key, SIGNERS_TYPE, 4, "DSC list")
    except SignedObjectError as exc:
        if exc.code == "bad_signature":
            raise DscListError("DSC list is not signed by the bundle's dcc key") from None
        raise DscListError(str(exc)) from None
    entries = body.get("signers")
    if not isinstance(entries, list) or len(entries) > MAX_SIGNERS:
        raise DscListError(f"DSC list 'signers' must be a list of at most {MAX_SIGNERS}")
    by_kid: dict[bytes, tuple[Signer, ...]] = {}
    for entry in entries:
        signer = _signer(entry)
        by_kid[signer.kid] = (*by_kid.get(signer.kid, ()), signer)
    issued_at = _int(body, "issued_at")
    expires_at = _int(body, "expires_at")
    if expires_at <= issued_at:
        raise DscListError("DSC list expires before it was issued")
    return DscList(
        version=_int(body, "version", 1),
        issued_at=issued_at,
        expires_at=expires_at,
        stale_after=_int(body, "stale_after", 1),
        by_kid=by_kid,
        count=len(entries),
        raw=data,
    )
