"""Document Signer Certificates: the key, validity window and certificate types a DSC may sign."""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from scanner.formats.hc1.cose import PublicKey, Verify, verifier

KID_LENGTH = 8


class CertType(enum.StrEnum):
    """The three kinds of DCC, named by the hcert key that holds their entry."""

    TEST = "t"
    VACCINATION = "v"
    RECOVERY = "r"


# hcert spec section 5.1.1: extended key usage OIDs that restrict what a DSC may sign.
# Both arcs are in use: the specified 1.3.6.1.4.1.1847.2021.1.x and the
# 1.3.6.1.4.1.0.1847.2021.1.x that early issuers wrote by mistake.
_USAGE_OIDS: dict[str, CertType] = {}
for _arc in ("1.3.6.1.4.1.1847.2021.1", "1.3.6.1.4.1.0.1847.2021.1"):
    _USAGE_OIDS[f"{_arc}.1"] = CertType.TEST
    _USAGE_OIDS[f"{_arc}.2"] = CertType.VACCINATION
    _USAGE_OIDS[f"{_arc}.3"] = CertType.RECOVERY
ALL_TYPES = frozenset(CertType)


class DscError(ValueError):
    """The bytes are not an X.509 certificate with a P-256 or RSA key."""


@functools.lru_cache(maxsize=4096)
def _public_key(spki: bytes) -> PublicKey | None:
    # Loaded on first use: a list of 10,000 DSCs loads without parsing 10,000 keys, and a
    # checkpoint sees a few dozen issuers' keys in a day.
    try:
        key = serialization.load_der_public_key(spki)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey) else None


@functools.lru_cache(maxsize=4096)
def _verifier(spki: bytes) -> Verify:
    # The key's type is checked once per DSC, as its key is loaded once (above).
    return verifier(_public_key(spki))


@dataclass(frozen=True, slots=True)
class Signer:
    """One DSC as the verifier needs it: no X.509 parsing at verification time."""

    kid: bytes
    country: str
    spki: bytes  # DER SubjectPublicKeyInfo
    not_before: int
    not_after: int
    types: frozenset[CertType]  # what it may sign; all three when its EKU names none

    @property
    def key(self) -> PublicKey | None:
        """The public key, or None when it is not an EC or RSA key cryptography can load."""
        return _public_key(self.spki)

    @property
    def verify(self) -> Verify:
        """`verify(alg, message, signature) -> bool` by this DSC's key; never raises."""
        return _verifier(self.spki)

    def valid_at(self, now: int) -> bool:
        """Whether `now` falls inside the certificate's validity."""
        return self.not_before <= now <= self.not_after

    def may_sign(self, cert_type: CertType) -> bool:
        """Whether this DSC may sign certificates of `cert_type`."""
        return cert_type in self.types


def kid_of(der: bytes) -> bytes:
    """The hcert kid: the first 8 bytes of the SHA-256 of the DSC's DER encoding."""
    return hashlib.sha256(der).digest()[:KID_LENGTH]


def usage_types(oids: list[str] | None) -> frozenset[CertType]:
    """Certificate types an extended key usage allows; all when it names none of ours."""
    named = frozenset(_USAGE_OIDS[o] for o in oids or () if o in _USAGE_OIDS)
    return named or ALL_TYPES


def load_der(der: bytes, kid: bytes | None = None, country: str | None = None) -> Signer:
    """A Signer from a DSC's DER; `kid` and `country` default to what the certificate says.

    asn1crypto rather than cryptography reads the certificate: issuers' DSCs in use are not
    all strict DER (an explicit BasicConstraints cA=FALSE, for one), which cryptography
    refuses and every national verifier accepts. The key itself is loaded by cryptography.
    """
    try:
        cert = asn1_x509.Certificate.load(der)
        tbs = cert["tbs_certificate"]
        spki = tbs["subject_public_key_info"].dump()
        eku = cert.extended_key_usage_value
        oids = [o.dotted for o in eku] if eku is not None else None
        subject = cert.subject.native
        not_before = int(cert.not_valid_before.timestamp())
        not_after = int(cert.not_valid_after.timestamp())
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise DscError(f"not a certificate: {type(exc).__name__}") from None
    if _public_key(spki) is None:
        raise DscError("DSC key is neither EC nor RSA")
    subject_country = subject.get("country_name", "") if isinstance(subject, dict) else ""
    return Signer(
        kid=kid if kid is not None else kid_of(der),
        country=country if country is not None else str(subject_country),
        spki=spki,
        not_before=not_before,
        not_after=not_after,
        types=usage_types(oids),
    )
