"""Every step of an HC1 check, recorded: the verdict and the conformance runner read one record.

`inspect` runs prefix, base45, zlib, COSE, signature and CWT claims in order, stopping at the
first that fails, and then the checks that only report (schema, time, DSC validity, key usage).
It never raises.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.formats.hc1 import claims as claims_mod
from scanner.formats.hc1 import cose, qrtext, schema
from scanner.formats.hc1.cose import Sign1
from scanner.formats.hc1.dsc import Signer


class Stage(enum.IntEnum):
    """The steps that must pass in order; a failure stops the chain."""

    PREFIX = 1
    BASE45 = 2
    ZLIB = 3
    COSE = 4  # envelope and the payload's CBOR
    KEY = 5  # a DSC for the kid
    SIGNATURE = 6
    CLAIMS = 7  # CWT structure with an hcert DCC


class TimeCheck(enum.StrEnum):
    """CWT iat/exp against the clock."""

    CURRENT = "current"
    NOT_YET_VALID = "not_yet_valid"  # iat in the future: issued after the clock
    EXPIRED = "expired"
    MISSING = "missing"  # hcert requires both; a certificate without them is refused


SignerLookup = Callable[[bytes], Sequence[Signer]]


@dataclass(slots=True)
class Inspection:
    """What each step of the check found; later fields are None when not reached."""

    passed: Stage | None = None
    failed: Stage | None = None
    error: str = ""
    too_large: bool = False
    packed: bytes | None = None
    cose: bytes | None = None
    envelope: Sign1 | None = None
    signer: Signer | None = None
    claims: claims_mod.Claims | None = None
    schema_problems: list[str] | None = None
    time: TimeCheck | None = None
    dsc_valid: bool | None = None  # the DSC is valid at the clock
    dsc_covers: bool | None = None  # the DCC's iat..exp lies within the DSC's validity
    key_usage: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def reached(self, stage: Stage) -> bool:
        """Whether the step passed."""
        return self.passed is not None and self.passed >= stage

    @property
    def kid(self) -> bytes | None:
        """The envelope's key ID, None before the envelope parsed."""
        return self.envelope.kid if self.envelope is not None else None

    @property
    def schema_ok(self) -> bool | None:
        """Whether the payload met the schema; None if not checked."""
        return None if self.schema_problems is None else not self.schema_problems


def _fail(result: Inspection, stage: Stage, error: str) -> Inspection:
    result.failed = stage
    result.error = error
    return result


def inspect(text: bytes, signers: SignerLookup, now: int) -> Inspection:
    """Run every step of the HC1 check on one QR text at time `now`; never raises."""
    result = Inspection()
    try:
        body = qrtext.unprefix(text)
    except qrtext.TextTooLargeError as exc:
        result.too_large = True
        return _fail(result, Stage.PREFIX, str(exc))
    except (qrtext.NotHc1Error, qrtext.Base45TextError) as exc:
        return _fail(result, Stage.PREFIX, str(exc))
    result.passed = Stage.PREFIX
    try:
        result.packed = qrtext.debase45(body)
    except qrtext.Base45TextError as exc:
        return _fail(result, Stage.BASE45, str(exc))
    result.passed = Stage.BASE45
    try:
        result.cose = qrtext.inflate(result.packed)
    except qrtext.TextTooLargeError as exc:
        result.too_large = True
        return _fail(result, Stage.ZLIB, str(exc))
    except qrtext.CompressionError as exc:
        return _fail(result, Stage.ZLIB, str(exc))
    result.passed = Stage.ZLIB
    try:
        envelope = result.envelope = cose.parse(result.cose)
    except cose.CoseError as exc:
        return _fail(result, Stage.COSE, str(exc))
    result.passed = Stage.COSE
    _report_claims(result, envelope.claims, now)
    if envelope.kid is None:
        return _fail(result, Stage.KEY, "no kid in either header")
    candidates = signers(envelope.kid)
    if not candidates:
        return _fail(result, Stage.KEY, "no DSC for this kid")
    result.passed = Stage.KEY
    signer = _signed_by(candidates, envelope)
    if signer is None:
        return _fail(result, Stage.SIGNATURE, "signature does not verify")
    result.signer = signer
    result.passed = Stage.SIGNATURE
    result.dsc_valid = signer.valid_at(now)
    if result.claims is not None:
        result.dsc_covers = covers(signer, result.claims)
    if result.claims is None:
        return _fail(result, Stage.CLAIMS, result.extra.get("claims_error", "no claims"))
    result.passed = Stage.CLAIMS
    cert_type = result.claims.cert_type
    result.key_usage = cert_type is not None and signer.may_sign(cert_type)
    return result


def _signed_by(candidates: Sequence[Signer], envelope: Sign1) -> Signer | None:
    # Kids are 8 bytes of a hash: two DSCs can share one, so each is tried.
    message, alg, signature = envelope.to_be_signed(), envelope.alg, envelope.signature
    for signer in candidates:
        if signer.verify(alg, message, signature):
            return signer
    return None


def _report_claims(result: Inspection, payload: Any, now: int) -> None:
    # The claims are read before the signature is checked only to report on them; the
    # verdict never acts on them unless the signature verified.
    try:
        found = claims_mod.decode(payload)
    except claims_mod.ClaimsError as exc:
        result.extra["claims_error"] = str(exc)
        return
    result.claims = found
    result.schema_problems = schema.problems(found.dcc)
    result.time = time_check(found, now)


def covers(signer: Signer, found: claims_mod.Claims) -> bool:
    """Whether the DSC was valid when the DCC was issued and stays so until it expires."""
    if found.issued_at is None or found.expires_at is None:
        return False
    return signer.not_before <= found.issued_at and found.expires_at <= signer.not_after


def time_check(found: claims_mod.Claims, now: int) -> TimeCheck:
    """Iat and exp against `now`: current while iat <= now <= exp.

    The second of `exp` itself still counts, as in the EU's reference verifiers and the
    dgc-testdata cases whose validation clock is exactly the expiry (RFC 7519 would end a
    second earlier; nothing at a checkpoint turns on that second).
    """
    if found.issued_at is None or found.expires_at is None:
        return TimeCheck.MISSING
    if now < found.issued_at:
        return TimeCheck.NOT_YET_VALID
    if now > found.expires_at:
        return TimeCheck.EXPIRED
    return TimeCheck.CURRENT
