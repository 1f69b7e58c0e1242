"""Client certificates for mutual TLS, issued at enrolment for the device's own Ed25519 key.

The certificate binds the key the unit already has (the one that signs its
enrolment request and its uplink messages): no second private key is made,
and none ever leaves the unit (see ``provisioning.tlskey``). Central side only.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DAYS = 825  # the CA/Browser Forum's old ceiling; units re-enrol long before


class CertificateError(ValueError):
    """A CA certificate or key cannot be read or used to issue certificates."""


def load_ca(cert_path: Path, key_path: Path) -> tuple[Any, Any]:
    """The issuing CA's certificate and private key (PEM, key unencrypted and mode 0600)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        raise CertificateError(f"{exc.filename}: cannot read ({exc.strerror})") from None
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"client CA: {exc}") from None
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise CertificateError("client CA key does not belong to the client CA certificate")
    return cert, key


def _spki(public_key: Any) -> bytes:
    der: bytes = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return der


def issue_client_certificate(
    ca_cert: Any,
    ca_key: Any,
    device_public_key: bytes,
    device_id: str,
    *,
    now: datetime.datetime | None = None,
    days: int = DEFAULT_DAYS,
) -> bytes:
    """A PEM client certificate: CN and SAN name the device, the key is the device's own."""
    start = now or datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(ed25519.Ed25519PublicKey.from_public_bytes(device_public_key))
        .serial_number(x509.random_serial_number())
        # An hour of slack: a Pi without RTC may run a little behind the centre.
        .not_valid_before(start - datetime.timedelta(hours=1))
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"urn:checkpoint:{device_id}")]
            ),
            critical=False,
        )
    )
    # Ed25519/Ed448 CAs sign without a separate hash; RSA and ECDSA CAs with SHA-256.
    digest = (
        None
        if isinstance(ca_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
        else hashes.SHA256()
    )
    cert = builder.sign(ca_key, digest)
    pem: bytes = cert.public_bytes(Encoding.PEM)
    return pem
