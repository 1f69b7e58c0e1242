"""A throwaway PKI made per test with `cryptography`: a CA, server and client certificates.

Server certificates come in the variants a unit must refuse: signed by another
CA, expired, not yet valid, or for another host name.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from nacl.signing import SigningKey

from provisioning.client_ca import issue_client_certificate
from provisioning.tlskey import device_key_pem

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CertPair:
    cert: Path
    key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    path.chmod(0o600)


class Pki:
    """One CA in ``directory`` (ca.pem, ca.key) that issues what a test asks for."""

    def __init__(self, directory: Path, name: str = "Test CA") -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.now = datetime.datetime.now(datetime.UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - DAY)
            .not_valid_after(self.now + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = self.dir / "ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(Encoding.PEM))
        self.ca_key_file = self.dir / "ca.key"
        _write_key(self.ca_key_file, self.key)

    def server(
        self,
        name: str = "server",
        hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
        *,
        valid_from: datetime.datetime | None = None,
        valid_until: datetime.datetime | None = None,
    ) -> CertPair:
        """A server certificate for ``hosts`` (DNS names or IP addresses)."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or self.now - HOUR)
            .not_valid_after(valid_until or self.now + 7 * DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        pair = CertPair(self.dir / f"{name}.pem", self.dir / f"{name}.key")
        pair.cert.write_bytes(cert.public_bytes(Encoding.PEM))
        _write_key(pair.key, key)
        return pair

    def expired_server(self) -> CertPair:
        return self.server("expired", valid_from=self.now - 10 * DAY, valid_until=self.now - DAY)

    def future_server(self) -> CertPair:
        return self.server("future", valid_from=self.now + DAY, valid_until=self.now + 10 * DAY)

    def wrong_host_server(self) -> CertPair:
        return self.server("elsewhere", hosts=("broker.elsewhere.test",))

    def device_client(self, seed: bytes, device_id: str) -> CertPair:
        """A client certificate for a device's own Ed25519 key, as enroll-accept issues it."""
        public = _ed25519_public(seed)
        pem = issue_client_certificate(self.cert, self.key, public, device_id, now=self.now)
        pair = CertPair(self.dir / f"{device_id}.pem", self.dir / f"{device_id}.key")
        pair.cert.write_bytes(pem)
        pair.key.write_bytes(device_key_pem(seed))
        pair.key.chmod(0o600)
        return pair


def _ed25519_public(seed: bytes) -> bytes:
    return bytes(SigningKey(seed).verify_key)
