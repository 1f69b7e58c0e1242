"""CWT claims (RFC 8392) of a pass: encoded by the issuer, strictly decoded by the verifier."""

from __future__ import annotations

import re
from typing import Any

from scanner.errors import CborError, ClaimsError
from scanner.formats.cose import deterministic_dumps, loads_untrusted
from scanner.model import Holder, PassInfo, PassKind

CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_NBF = 5
CLAIM_IAT = 6
CLAIM_CTI = 7
# RFC 8392 section 9.1: claim keys below -65536 are for private use.
CLAIM_CHECKPOINT = -65537
HOLDER_KIND = 1
HOLDER_NAME = 2
HOLDER_ID_LAST4 = 3

MAX_PASS_ID = 64
MAX_ISSUER = 64
MAX_NAME = 64
MAX_ID_TAIL = 6
MAX_TIME = 2**40  # seconds: about year 36812; anything larger is a type confusion

_PASS_ID = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no spaces


def encode_claims(info: PassInfo) -> bytes:
    """The deterministic CBOR payload for a pass (kid is carried by the envelope, not here)."""
    validate_pass_id(info.pass_id)
    return deterministic_dumps(
        {
            CLAIM_ISS: info.issuer,
            CLAIM_IAT: info.issued_at,
            CLAIM_NBF: info.not_before,
            CLAIM_EXP: info.expires_at,
            CLAIM_CTI: info.pass_id.encode("ascii"),
            CLAIM_CHECKPOINT: {
                HOLDER_KIND: int(info.kind),
                HOLDER_NAME: info.holder.name,
                HOLDER_ID_LAST4: info.holder.id_last4,
            },
        }
    )


def validate_pass_id(pass_id: str) -> str:
    """Pass IDs are 1-64 printable ASCII characters without spaces."""
    if not _PASS_ID.fullmatch(pass_id):
        raise ClaimsError("pass ID must be 1-64 printable ASCII characters without spaces")
    return pass_id


def _time(claims: dict[Any, Any], key: int) -> int:
    value = claims.get(key)
    if type(value) is not int or not 0 <= value < MAX_TIME:
        raise ClaimsError(f"claim {key} must be a non-negative integer time")
    return value


def _text(mapping: dict[Any, Any], key: int, limit: int) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise ClaimsError(f"claim {key} must be text of 1-{limit} characters")
    return value


def decode_claims(payload: bytes, kid: bytes) -> PassInfo:
    """Strictly decode a signed payload; raises ClaimsError naming the first problem."""
    try:
        claims = loads_untrusted(payload, max_depth=4)
    except CborError as exc:
        raise ClaimsError(f"payload is not CBOR: {exc}") from None
    if not isinstance(claims, dict):
        raise ClaimsError("payload must be a CBOR map")
    cti = claims.get(CLAIM_CTI)
    if not isinstance(cti, bytes):
        raise ClaimsError("cti (pass ID) must be a byte string")
    try:
        pass_id = validate_pass_id(cti.decode("ascii"))
    except UnicodeDecodeError:
        raise ClaimsError("pass ID must be ASCII") from None
    private = claims.get(CLAIM_CHECKPOINT)
    if not isinstance(private, dict):
        raise ClaimsError("checkpoint claim missing")
    kind_value = private.get(HOLDER_KIND)
    if type(kind_value) is not int or kind_value not in PassKind._value2member_map_:
        raise ClaimsError("unknown pass kind")
    info = PassInfo(
        pass_id=pass_id,
        issuer=_text(claims, CLAIM_ISS, MAX_ISSUER),
        kid=kid,
        kind=PassKind(kind_value),
        holder=Holder(
            name=_text(private, HOLDER_NAME, MAX_NAME),
            id_last4=_text(private, HOLDER_ID_LAST4, MAX_ID_TAIL),
        ),
        issued_at=_time(claims, CLAIM_IAT),
        not_before=_time(claims, CLAIM_NBF),
        expires_at=_time(claims, CLAIM_EXP),
    )
    if info.expires_at <= info.not_before:
        raise ClaimsError("exp must be after nbf")
    if info.issued_at > info.expires_at:
        raise ClaimsError("iat must not be after exp")
    return info
