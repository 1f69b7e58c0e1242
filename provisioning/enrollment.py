"""Enrollment: the signed request, the central answer, sealed credentials (docs/enrollment.md)."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from provisioning import mosquitto
from provisioning.sealed import Credentials, new_serial, seal
from scanner.cli.kit import (
    CommandError,
    command,
    echo,
    format_instant,
    parse_instant,
    parser,
    print_json,
)
from scanner.errors import KeyFileError, StrictJsonError
from scanner.formats import strict_json
from scanner.trust.files import atomic_write
from scanner.trust.identity import device_id_for
from scanner.trust.keys import load_private_key
from scanner.uplink.config import (
    DEFAULT_DISCOVERY_PREFIX,
    DEFAULT_TOPIC_ROOT,
    check_discovery_prefix,
    parse_broker_url,
)

REQUEST_TYPE = "checkpoint-enrollment-request"
FORMAT_VERSION = 1
# Domain separation: the device key also signs uplink messages (scanner.uplink.signing).
REQUEST_CONTEXT = b"checkpoint-scanner/enrollment/v1\x00"
MAX_DOCUMENT_BYTES = 16 * 1024


class EnrollmentError(ValueError):
    """A request or credentials file is malformed, forged, or meant for another device."""


def canonical(document: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON for the types used here (objects, strings, integers, null)."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sign_request(key: SigningKey, fields: dict[str, Any]) -> dict[str, Any]:
    """The request document: `fields` plus type, key, device ID and a detached signature."""
    body: dict[str, Any] = {
        **fields,
        "type": REQUEST_TYPE,
        "version": FORMAT_VERSION,
        "device_id": device_id_for(key.verify_key),
        "public_key": base64.b64encode(bytes(key.verify_key)).decode(),
    }
    signature = key.sign(REQUEST_CONTEXT + canonical(body)).signature
    return {**body, "signature": base64.b64encode(signature).decode()}


@dataclass(frozen=True, slots=True)
class Request:
    """A verified enrollment request."""

    device_id: str
    key: VerifyKey
    checkpoint_id: str
    fields: dict[str, Any] = field(compare=False)


def _b64(value: object, size: int, name: str) -> bytes:
    try:
        raw = base64.b64decode(str(value), validate=True)
    except binascii.Error:
        raise EnrollmentError(f"request {name} is not base64") from None
    if len(raw) != size:
        raise EnrollmentError(f"request {name} must be {size} bytes")
    return raw


def _document(data: bytes, what: str) -> dict[str, Any]:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise EnrollmentError(f"{what} is {len(data)} bytes: too large")
    try:
        document = strict_json.loads(data, what)
    except StrictJsonError as exc:
        raise EnrollmentError(str(exc)) from None
    if not isinstance(document, dict):
        raise EnrollmentError(f"{what} is not a JSON object")
    return document


def verify_request(data: bytes) -> Request:
    """Check the signature and that the device ID is its key's; raises EnrollmentError."""
    document = _document(data, "enrollment request")
    if document.get("type") != REQUEST_TYPE or document.get("version") != FORMAT_VERSION:
        raise EnrollmentError("not a version 1 enrollment request")
    body = {k: v for k, v in document.items() if k != "signature"}
    key = VerifyKey(_b64(document.get("public_key"), 32, "public_key"))
    signature = _b64(document.get("signature"), 64, "signature")
    try:
        key.verify(REQUEST_CONTEXT + canonical(body), signature)
    except BadSignatureError:
        raise EnrollmentError("enrollment request signature does not verify") from None
    if document.get("device_id") != device_id_for(key):
        raise EnrollmentError("enrollment request device_id does not match its public key")
    checkpoint = document.get("checkpoint_id")
    if not isinstance(checkpoint, str) or not checkpoint or "/" in checkpoint:
        raise EnrollmentError("enrollment request has no usable checkpoint_id")
    return Request(device_id_for(key), key, checkpoint, body)


def _accept_parser() -> argparse.ArgumentParser:
    p = parser(
        "checkpoint-provision enroll-accept",
        "Verify an enrollment request; make sealed broker credentials and Mosquitto lines.",
    )
    p.add_argument("--request", required=True, type=Path, help="the unit's enroll.json")
    p.add_argument("--out", required=True, type=Path, help="the sealed credentials file")
    p.add_argument(
        "--ops-key", required=True, type=Path, help="signs the credentials (the bundle's ops key)"
    )
    p.add_argument("--mosquitto-passwd", required=True, type=Path, help="password_file to add to")
    p.add_argument("--mosquitto-acl", required=True, type=Path, help="acl_file to add to")
    p.add_argument("--broker", help="broker URL for the unit (default: keep its own)")
    p.add_argument("--topic-root", default=DEFAULT_TOPIC_ROOT, help="MQTT topic prefix")
    p.add_argument(
        "--discovery-prefix",
        default=DEFAULT_DISCOVERY_PREFIX,
        help="let the unit publish Home Assistant discovery configs under this prefix, "
        "for its own node ID only ('' for none)",
    )
    p.add_argument(
        "--iterations",
        type=int,
        default=mosquitto.DEFAULT_ITERATIONS,
        help="PBKDF2 rounds of the Mosquitto password hash",
    )
    p.add_argument("--broker-ca", type=Path, help="CA certificate (PEM) the unit trusts")
    p.add_argument("--client-ca", type=Path, help="CA certificate (PEM) for mutual TLS")
    p.add_argument("--client-ca-key", type=Path, help="its private key (PEM, mode 0600)")
    p.add_argument(
        "--max-age-days",
        type=float,
        help="refuse older requests (off by default: a Pi without RTC may date them wrongly)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return p


@command
def main_accept(argv: list[str]) -> int:
    """Run `checkpoint-provision enroll-accept`: check a request, seal the credentials."""
    args = _accept_parser().parse_args(argv)
    if args.broker is not None:
        try:
            parse_broker_url(args.broker)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if any(c in args.topic_root for c in "+#\x00") or not args.topic_root.strip("/"):
        raise CommandError("--topic-root must be a plain topic without wildcards")
    if args.discovery_prefix:
        try:
            check_discovery_prefix(args.discovery_prefix)
        except ValueError as exc:
            raise CommandError(f"--{exc}") from None
    try:
        request = verify_request(args.request.read_bytes())
    except OSError as exc:
        raise CommandError(f"{args.request}: cannot read ({exc.strerror})") from None
    except EnrollmentError as exc:
        raise CommandError(f"{args.request}: {exc}") from None
    if args.max_age_days is not None:
        _check_age(request, args.max_age_days)
    try:
        ops = load_private_key(args.ops_key)
    except KeyFileError as exc:
        raise CommandError(f"--ops-key: {exc}") from None
    username = request.device_id  # unique, and what the ACL, client ID and certificate name
    credentials = Credentials(
        request.device_id,
        username,
        mosquitto.new_password(),
        args.broker,
        args.topic_root,
        serial=new_serial(),
        issued_at=int(time.time()),
        client_cert=_client_cert(args, request),
        broker_ca=_read_pem(args.broker_ca, "--broker-ca"),
    )
    sealed = seal(request.key, ops, credentials)
    enrolled = format_instant(int(time.time()))
    comment = f"{request.device_id} at {request.checkpoint_id}, enrolled {enrolled}"
    try:
        atomic_write(args.out, sealed, 0o600)
        mosquitto.merge_password(
            args.mosquitto_passwd,
            username,
            mosquitto.password_hash(credentials.password, args.iterations),
        )
        mosquitto.merge_acl(
            args.mosquitto_acl,
            mosquitto.acl_block(
                username,
                request.device_id,
                args.topic_root,
                comment,
                args.discovery_prefix or None,
            ),
        )
    except OSError as exc:
        raise CommandError(f"cannot write {exc.filename}: {exc.strerror}") from None
    summary = {
        "device_id": request.device_id,
        "username": username,
        "checkpoint_id": request.checkpoint_id,
        "out": str(args.out),
        "mosquitto_passwd": str(args.mosquitto_passwd),
        "mosquitto_acl": str(args.mosquitto_acl),
    }
    if args.json:
        print_json(summary)
    else:
        echo(f"accepted {request.device_id} ({request.checkpoint_id}): sealed to {args.out}")
        echo(f"reload Mosquitto to pick up {args.mosquitto_passwd} and {args.mosquitto_acl}")
    return 0


def _check_age(request: Request, max_age_days: float) -> None:
    created = request.fields.get("created_at")
    if not isinstance(created, str):
        raise CommandError("enrollment request has no created_at time")
    age = time.time() - parse_instant(created)
    if age > max_age_days * 86400:
        raise CommandError(f"enrollment request is {age / 86400:.0f} days old; make a new one")


def _read_pem(path: Path | None, flag: str) -> str | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{flag} {path}: cannot read ({exc})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise CommandError(f"{flag} {path}: not a PEM certificate")
    return text


def _client_cert(args: argparse.Namespace, request: Request) -> str | None:
    """A client certificate for the device's own key, when a client CA is given."""
    if (args.client_ca is None) != (args.client_ca_key is None):
        raise CommandError("--client-ca and --client-ca-key: give both or neither")
    if args.client_ca is None:
        return None
    # Imported here: only the centre issues certificates, units never load `cryptography`.
    from provisioning import client_ca  # noqa: PLC0415

    try:
        cert, key = client_ca.load_ca(args.client_ca, args.client_ca_key)
    except client_ca.CertificateError as exc:
        raise CommandError(str(exc)) from None
    pem = client_ca.issue_client_certificate(cert, key, bytes(request.key), request.device_id)
    return pem.decode("ascii")
