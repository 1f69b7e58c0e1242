"""`device install-credentials`: open the sealed credentials with the device key, install them."""

from __future__ import annotations

import argparse
import tomllib
from typing import Any

from provisioning import tomltext
from provisioning.enrollment import EnrollmentError, open_sealed
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
from scanner.cli.kit import CommandError
from scanner.config.load import parse
from scanner.errors import ConfigError


def install_credentials(args: argparse.Namespace) -> dict[str, Any]:
    _, identity = load_unit(args.sysroot)
    try:
        credentials = open_sealed(identity.key, args.file.read_bytes())
    except OSError as exc:
        raise CommandError(f"{args.file}: cannot read ({exc.strerror})") from None
    except EnrollmentError as exc:
        raise CommandError(f"{args.file}: {exc}; nothing was changed") from None
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
    text = tomltext.update(current, "mqtt", mqtt)  # keeps the technician's comments
    try:
        parse(text, "updated configuration")
    except ConfigError as exc:
        raise CommandError(f"{exc}; nothing was changed") from None
    files = {
        on_unit(args.sysroot, PASSWORD_PATH): ((credentials.password + "\n").encode(), 0o600, True),
        config_path: (text.encode("utf-8"), 0o644, False),
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
