"""Trust bundles: the root-signed list of issuer, revocation and ops keys a device verifies with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from scanner.errors import BundleError, SignedObjectError
from scanner.formats.cose import deterministic_dumps, key_id, open_signed, sign1

BUNDLE_TYPE = "checkpoint-trust-bundle"
DEFAULT_STALE_AFTER = 7 * 86400  # a bundle not renewed for a week is reported stale
MAX_BUNDLE_BYTES = 64 * 1024
MAX_ISSUERS = 256


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """A key that signs passes, valid only inside its own window and while not revoked."""

    key: VerifyKey
    not_before: int
    not_after: int
    revoked: bool = False

    @property
    def kid(self) -> bytes:
        """The key ID of this key."""
        return key_id(bytes(self.key))

    def valid_at(self, now: int) -> bool:
        """Whether the key is in force at `now` (not revoked, inside its window)."""
        return not self.revoked and self.not_before <= now < self.not_after


@dataclass(frozen=True, slots=True)
class TrustBundle:
    """A verified trust bundle; `raw` is the signed bytes as received, kept for persistence."""

    version: int
    issued_at: int
    expires_at: int
    stale_after: int
    issuers: dict[bytes, IssuerKey]
    revocation_key: VerifyKey
    ops_key: VerifyKey | None
    raw: bytes = field(repr=False, compare=False)
    dcc_key: VerifyKey | None = None  # signs the EU DCC signer list and rule set (HC1)

    def is_stale(self, now: int) -> bool:
        """Whether the bundle is past its stale-after time at `now`."""
        return now >= self.issued_at + self.stale_after


def encode_bundle(
    root: SigningKey,
    *,
    version: int,
    issued_at: int,
    expires_at: int,
    issuers: list[IssuerKey],
    revocation_key: VerifyKey,
    ops_key: VerifyKey | None = None,
    stale_after: int = DEFAULT_STALE_AFTER,
    dcc_key: VerifyKey | None = None,
) -> bytes:
    """Sign a trust bundle with the root key (central side)."""
    payload: dict[str, Any] = {
        "type": BUNDLE_TYPE,
        "version": version,
        "issued_at": issued_at,
        "expires_at": expires_at,
        "stale_after": stale_after,
        "issuers": [
            {
                "pub": bytes(i.key),
                "not_before": i.not_before,
                "not_after": i.not_after,
                "revoked": i.revoked,
            }
            for i in issuers
        ],
        "revocation": bytes(revocation_key),
    }
    if ops_key is not None:
        payload["ops"] = bytes(ops_key)
    if dcc_key is not None:
        payload["dcc"] = bytes(dcc_key)
    return sign1(deterministic_dumps(payload), root)


def _int(body: dict[Any, Any], name: str, low: int = 0) -> int:
    value = body.get(name)
    if type(value) is not int or not low <= value < 2**40:
        raise BundleError(f"bundle field {name!r} must be an integer >= {low}")
    return value


def _pub(value: object, name: str) -> VerifyKey:
    if not isinstance(value, bytes) or len(value) != 32:
        raise BundleError(f"bundle field {name!r} must be a 32-byte public key")
    return VerifyKey(value)


def _issuer(entry: object) -> IssuerKey:
    if not isinstance(entry, dict):
        raise BundleError("each issuer must be a map")
    revoked = entry.get("revoked", False)
    if not isinstance(revoked, bool):
        raise BundleError("issuer 'revoked' must be a boolean")
    return IssuerKey(
        key=_pub(entry.get("pub"), "issuers.pub"),
        not_before=_int(entry, "not_before"),
        not_after=_int(entry, "not_after"),
        revoked=revoked,
    )


def parse_bundle(data: bytes, root: VerifyKey) -> TrustBundle:
    """Verify a bundle against the pinned root and decode it; raises BundleError."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle is {len(data)} bytes, limit {MAX_BUNDLE_BYTES}")
    try:
        body = open_signed(data, root, BUNDLE_TYPE, 6, "trust bundle")
    except SignedObjectError as exc:
        if exc.code == "bad_signature":
            raise BundleError("trust bundle is not signed by the pinned root key") from None
        raise BundleError(str(exc)) from None
    entries = body.get("issuers")
    if not isinstance(entries, list) or len(entries) > MAX_ISSUERS:
        raise BundleError(f"bundle 'issuers' must be a list of at most {MAX_ISSUERS}")
    issuers = [_issuer(e) for e in entries]
    if len({i.kid for i in issuers}) != len(issuers):
        # Otherwise the later entry wins: retired-then-active would revive a retired key.
        raise BundleError("bundle lists one issuer key twice")
    ops = body.get("ops")
    dcc = body.get("dcc")
    bundle = TrustBundle(
        version=_int(body, "version", 1),
        issued_at=_int(body, "issued_at"),
        expires_at=_int(body, "expires_at"),
        stale_after=_int(body, "stale_after", 1) if "stale_after" in body else DEFAULT_STALE_AFTER,
        issuers={i.kid: i for i in issuers},
        revocation_key=_pub(body.get("revocation"), "revocation"),
        ops_key=None if ops is None else _pub(ops, "ops"),
        raw=data,
        dcc_key=None if dcc is None else _pub(dcc, "dcc"),
    )
    if bundle.expires_at <= bundle.issued_at:
        raise BundleError("bundle expires before it was issued")
    return bundle
