"""`checkpoint-provision decommission`: the inverse of enroll-accept, run by central ops.

It takes the unit's lines out of Mosquitto's password file and ACL (so, once
the broker reloads, the unit can no longer log in) and, given the broker,
empties the unit's retained Home Assistant discovery configs, which removes
the device from Home Assistant. It is central's job, not the unit's: a unit
being retired may be broken, lost or stolen.
"""

from __future__ import annotations

import argparse
import ssl
import stat
import threading
from pathlib import Path
from typing import Any

from provisioning import mosquitto
from scanner.cli.kit import CommandError, command, echo, parser, print_json
from scanner.uplink.config import (
    DEFAULT_DISCOVERY_PREFIX,
    check_discovery_prefix,
    parse_broker_url,
)
from scanner.uplink.discovery import config_topics

WAIT_S = 10.0


def _parser() -> argparse.ArgumentParser:
    p = parser(
        "checkpoint-provision decommission",
        "Retire a unit: remove its broker login and ACL, and its Home Assistant device.",
    )
    p.add_argument("--device-id", required=True, help="the unit's ID (cp-...)")
    p.add_argument("--mosquitto-passwd", type=Path, help="password_file to remove it from")
    p.add_argument("--mosquitto-acl", type=Path, help="acl_file to remove it from")
    p.add_argument(
        "--broker",
        help="mqtt[s]://user@host[:port] of central's own account: empties the unit's "
        "retained discovery configs (default: leave them)",
    )
    p.add_argument(
        "--password-file", type=Path, help="that account's password (a 0600 file, never argv)"
    )
    p.add_argument("--ca-file", type=Path, help="CA certificate (PEM) for mqtts://")
    p.add_argument(
        "--discovery-prefix",
        default=DEFAULT_DISCOVERY_PREFIX,
        help="Home Assistant's discovery prefix the unit used",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return p


@command
def main(argv: list[str]) -> int:
    """Remove the unit's broker login and ACL block, and empty its retained discovery configs."""
    args = _parser().parse_args(argv)
    device_id: str = args.device_id
    if not device_id or any(c in device_id for c in "/+#\x00"):
        raise CommandError("--device-id: not a device ID")
    try:
        check_discovery_prefix(args.discovery_prefix)
    except ValueError as exc:
        raise CommandError(f"--{exc}") from None
    if args.broker is None and args.mosquitto_passwd is None and args.mosquitto_acl is None:
        raise CommandError("give --broker, --mosquitto-passwd or --mosquitto-acl")
    summary: dict[str, Any] = {"device_id": device_id}
    if args.broker is not None:
        summary["discovery_removed"] = _clear_discovery(args, device_id)
    try:
        if args.mosquitto_passwd is not None:
            summary["password_removed"] = mosquitto.remove_password(
                args.mosquitto_passwd, device_id
            )
        if args.mosquitto_acl is not None:
            summary["acl_removed"] = mosquitto.remove_acl(args.mosquitto_acl, device_id)
    except OSError as exc:
        raise CommandError(f"cannot write {exc.filename}: {exc.strerror}") from None
    if args.json:
        print_json(summary)
    else:
        echo(f"decommissioned {device_id}: {summary}")
        if args.mosquitto_passwd is not None or args.mosquitto_acl is not None:
            echo("reload Mosquitto to lock the unit out")
    return 0


def _password(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CommandError(f"--password-file {path} is readable by others: chmod 600 {path}")
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(f"--password-file {path}: cannot read ({exc.strerror})") from None


def _clear_discovery(args: argparse.Namespace, device_id: str) -> list[str]:
    """Publish an empty retained payload on each of the unit's config topics; the topics."""
    # Imported here: only this path talks to a broker.
    import paho.mqtt.client as mqtt  # noqa: PLC0415
    from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

    try:
        broker = parse_broker_url(args.broker)
    except ValueError as exc:
        raise CommandError(f"--broker: {exc}") from None
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"decommission-{device_id}", protocol=mqtt.MQTTv5
    )
    password = _password(args.password_file)
    if broker.username is not None:
        client.username_pw_set(broker.username, password)
    if broker.tls:
        client.tls_set(
            ca_certs=str(args.ca_file) if args.ca_file else None, cert_reqs=ssl.CERT_REQUIRED
        )
    connected = threading.Event()
    codes: list[Any] = []
    acked = threading.Condition()

    def on_connect(*args: Any) -> None:  # (client, userdata, flags, reason, properties)
        reason = args[3]
        codes.append(reason)
        connected.set()

    def on_publish(*args: Any) -> None:  # (client, userdata, mid, reason, properties)
        reason = args[3]
        with acked:
            codes.append(reason)
            acked.notify_all()

    client.on_connect = on_connect
    client.on_publish = on_publish
    topics = config_topics(args.discovery_prefix, device_id)
    try:
        client.connect(broker.host, broker.port)
    except (OSError, ssl.SSLError) as exc:
        raise CommandError(f"--broker {broker.host}:{broker.port}: {exc}") from None
    client.loop_start()
    try:
        if not connected.wait(WAIT_S) or codes[0].is_failure:
            raise CommandError(f"--broker: not connected ({codes[0] if codes else 'timeout'})")
        for topic in topics:
            client.publish(topic, b"", qos=1, retain=True)
        with acked:
            if not acked.wait_for(lambda: len(codes) > len(topics), WAIT_S):
                raise CommandError("--broker: not every removal was acknowledged")
        refused = [str(code) for code in codes[1:] if code.is_failure]
        if refused:
            raise CommandError(
                f"--broker refused the removal ({refused[0]}): the account needs "
                f"`topic write {args.discovery_prefix}/#` in the ACL"
            )
    finally:
        client.disconnect()
        client.loop_stop()
    return topics
