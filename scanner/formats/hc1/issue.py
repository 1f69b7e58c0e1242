"""The signing side of HC1: DSC keys and certificates, and signed DCC texts (tests, demo, issuer).

Real DCCs come from national issuers; this one signs with the scanner's own HC1 codec so
that what the unit verifies is exactly what the spec describes (ES256 or PS256, kid = the
first 8 bytes of SHA-256 of the DSC, zlib, base45, `HC1:`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from scanner.formats.hc1 import claims, qrtext
from scanner.formats.hc1.cose import PrivateKey, sign1
from scanner.formats.hc1.dsc import CertType, kid_of

USAGE_OID = {
    CertType.TEST: "1.3.6.1.4.1.1847.2021.1.1",
    CertType.VACCINATION: "1.3.6.1.4.1.1847.2021.1.2",
    CertType.RECOVERY: "1.3.6.1.4.1.1847.2021.1.3",
}


@dataclass(frozen=True, slots=True)
class DocumentSigner:
    """A DSC's private key and its certificate (DER)."""

    key: PrivateKey
    der: bytes

    @property
    def kid(self) -> bytes:
        """The key ID of this certificate, as a DSC list names it."""
        return kid_of(self.der)


def new_key(algorithm: str) -> PrivateKey:
    """A fresh ES256 (P-256) or PS256 (RSA-3072) private key."""
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "PS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise ValueError(f"algorithm must be ES256 or PS256, not {algorithm!r}")


def self_signed_dsc(
    key: PrivateKey,
    *,
    country: str,
    not_before: int,
    not_after: int,
    usage: Iterable[CertType] = (),
    common_name: str = "Checkpoint test DSC",
) -> DocumentSigner:
    """A self-signed DSC; `usage` names the types it may sign (empty: no EKU, all types)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.fromtimestamp(not_before, dt.UTC))
        .not_valid_after(dt.datetime.fromtimestamp(not_after, dt.UTC))
    )
    oids = [x509.ObjectIdentifier(USAGE_OID[t]) for t in sorted(set(usage))]
    if oids:
        builder = builder.add_extension(x509.ExtendedKeyUsage(oids), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return DocumentSigner(key, cert.public_bytes(serialization.Encoding.DER))


def dcc_document(
    kind: CertType,
    *,
    family_name: str,
    given_name: str,
    family_name_latin: str,
    given_name_latin: str,
    date_of_birth: str,
    country: str,
    ci: str,
    event: dict[str, Any],
) -> dict[str, Any]:
    """The DCC JSON (schema 1.3) with one entry; `event` holds the entry's own fields."""
    entry = {"tg": "840539006", "co": country, "is": "Checkpoint reference issuer", "ci": ci}
    entry.update(event)
    return {
        "ver": "1.3.0",
        "nam": {
            "fn": family_name,
            "gn": given_name,
            "fnt": family_name_latin,
            "gnt": given_name_latin,
        },
        "dob": date_of_birth,
        kind.value: [entry],
    }


def issue(
    signer: DocumentSigner, dcc: dict[str, Any], *, issuer: str, issued_at: int, expires_at: int
) -> str:
    """The QR text of a DCC signed by `signer`."""
    payload = {
        claims.CLAIM_ISS: issuer,
        claims.CLAIM_IAT: issued_at,
        claims.CLAIM_EXP: expires_at,
        claims.CLAIM_HCERT: {claims.HCERT_EU_DCC: dcc},
    }
    return qrtext.wrap(sign1(bytes(cbor2.dumps(payload)), signer.key, signer.kid))
