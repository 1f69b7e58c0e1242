"""`device install-credentials`: verify and open the sealed credentials, install them.

The file must be signed by the ops key of the unit's own trust bundle and be
newer than the credentials installed last (its serial is kept beside the
password file), so a forged, altered or replayed file changes nothing.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from provisioning import tomltext
from provisioning.sealed import Credentials, CredentialsError, open_sealed
from provisioning.sysroot import (
    CONFIG_PATH,
    PASSWORD_PATH,
    Staging,
    commit,
    load_unit,
    on_unit,
    read_optional,
    service_owner,
    stage,
)
from provisioning.tlskey import device_key_pem
from scanner.cli.kit import CommandError
from scanner.config.load import Config, parse
from scanner.errors import ConfigError, KeyFileError, TrustStoreError
from scanner.trust.keys import load_public_key
from scanner.trust.store import TrustStore

SERIAL_PATH = Path("/etc/checkpoint-scanner/credentials-serial")
CLIENT_CERT_PATH = Path("/etc/checkpoint-scanner/client.pem")
BROKER_CA_PATH = Path("/etc/checkpoint-scanner/broker-ca.pem")
TLS_KEY_NAME = "device-tls.pem"  # beside the identity key: the same key, as PKCS#8 PEM


def _ops_key(sysroot: Path, config: Config) -> Any:
    """The ops key of the unit's verified trust bundle (None when the bundle names none)."""
    try:
        pinned = load_public_key(on_unit(sysroot, config.trust.root_pub))
        return TrustStore(on_unit(sysroot, config.trust_dir), pinned).snapshot().bundle.ops_key
    except (KeyFileError, TrustStoreError) as exc:
        raise CommandError(f"cannot check who signed the credentials: {exc}") from None


def _installed_serial(sysroot: Path) -> int:
    data = read_optional(on_unit(sysroot, SERIAL_PATH))
    if data is None:
        return -1
    try:
        return int(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        # A damaged record must not reopen replay: refuse until someone looks.
        raise CommandError(f"{SERIAL_PATH}: damaged; remove it only if you know why") from None


def install_credentials(args: argparse.Namespace) -> dict[str, Any]:
    """Verify and open the unit's sealed credentials and install them; a summary."""
    unit, identity = load_unit(args.sysroot)
    try:
        credentials = open_sealed(
            identity.key, args.file.read_bytes(), _ops_key(args.sysroot, unit)
        )
    except OSError as exc:
        raise CommandError(f"{args.file}: cannot read ({exc.strerror})") from None
    except CredentialsError as exc:
        raise CommandError(f"{args.file}: {exc}; nothing was changed") from None
    if credentials.serial < _installed_serial(args.sysroot):
        raise CommandError(
            f"{args.file}: older than the credentials installed (replayed?); nothing was changed"
        )
    config_path = on_unit(args.sysroot, CONFIG_PATH)
    current = config_path.read_text(encoding="utf-8")
    mqtt = dict(tomllib.loads(current).get("mqtt", {}))
    if credentials.broker is not None:
        mqtt["broker"] = credentials.broker
    if "broker" not in mqtt:
        raise CommandError(
            "no broker in the configuration or the credentials; run `device init --broker`"
        )
    mqtt.update(username=credentials.username, password_file=str(PASSWORD_PATH))
    mqtt["topic_root"] = credentials.topic_root
    tls_files = _tls_files(args.sysroot, unit, credentials, identity.key.encode(), mqtt)
    text = tomltext.update(current, "mqtt", mqtt)  # keeps the technician's comments
    try:
        parse(text, "updated configuration")
    except ConfigError as exc:
        raise CommandError(f"{exc}; nothing was changed") from None
    files = {
        on_unit(args.sysroot, PASSWORD_PATH): ((credentials.password + "\n").encode(), 0o600, True),
        config_path: (text.encode("utf-8"), 0o644, False),
        on_unit(args.sysroot, SERIAL_PATH): (f"{credentials.serial}\n".encode(), 0o644, False),
        **tls_files,
    }
    changed = [p for p, (data, _, _) in files.items() if read_optional(p) != data]
    if changed:
        staging = Staging(service_owner(args.sysroot))
        stage(staging, {p: files[p] for p in changed}, "install-credentials")
        commit(staging, "install-credentials")
    return {
        "device_id": identity.device_id,
        "username": credentials.username,
        "broker": mqtt["broker"],
        "password_file": str(PASSWORD_PATH),
        "changed": bool(changed),
    }


def _tls_files(
    sysroot: Path, unit: Config, credentials: Credentials, seed: bytes, mqtt: dict[str, Any]
) -> dict[Path, tuple[bytes, int, bool]]:
    """The broker CA and the client certificate with the device key as PEM, when sent."""
    files: dict[Path, tuple[bytes, int, bool]] = {}
    if credentials.broker_ca is not None:
        files[on_unit(sysroot, BROKER_CA_PATH)] = (credentials.broker_ca.encode(), 0o644, False)
        mqtt["ca_file"] = str(BROKER_CA_PATH)
    if credentials.client_cert is not None:
        key_path = unit.device.identity_key.with_name(TLS_KEY_NAME)
        files[on_unit(sysroot, CLIENT_CERT_PATH)] = (
            credentials.client_cert.encode(),
            0o644,
            False,
        )
        files[on_unit(sysroot, key_path)] = (device_key_pem(seed), 0o600, True)
        mqtt.update(cert_file=str(CLIENT_CERT_PATH), key_file=str(key_path))
    return files
