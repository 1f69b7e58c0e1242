"""`checkpoint-scanner check-config`: every check `run` makes before it opens hardware."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from scanner.cli.kit import EXIT_OK, EXIT_USAGE, command, parser, print_json
from scanner.config.convert import ConfigError
from scanner.config.load import DEFAULT_PATH, Config, effective, load
from scanner.trust.identity import IdentityError, load_identity
from scanner.trust.keys import KeyFileError, load_public_key
from scanner.trust.store import TrustStore, TrustStoreError
from scanner.uplink.config import UplinkConfig


def _on(sysroot: Path, path: Path) -> Path:
    """Where a device path of the configuration is under `sysroot`."""
    return sysroot / path.relative_to(path.anchor) if path.is_absolute() else sysroot / path


def _pins(config: Config) -> list[str]:
    # gpiozero's mock factory knows the Pi's header: a pin it refuses, `run` refuses.
    # Only the mock is made here: check-config never touches real GPIO.
    from gpiozero.exc import PinInvalidPin  # noqa: PLC0415 - only when there are pins to check
    from gpiozero.pins.mock import MockFactory  # noqa: PLC0415

    factory = MockFactory()
    problems = []
    for name in ("green_pin", "red_pin", "amber_pin", "buzzer_pin"):
        pin = getattr(config.lights, name)
        if pin is None:
            continue
        try:
            factory.pin(pin)
        except PinInvalidPin as exc:
            problems.append(f"lights.{name}: {exc}")
    factory.close()
    return problems


def _trust(config: Config, sysroot: Path) -> list[str]:
    try:
        root = load_public_key(_on(sysroot, config.trust.root_pub))
    except KeyFileError as exc:
        return [f"trust.root_pub: {exc}"]
    try:
        TrustStore(_on(sysroot, config.trust_dir), root).snapshot()
    except TrustStoreError as exc:
        return [f"trust.dir: {exc}"]
    return []


def _identity(config: Config, sysroot: Path) -> list[str]:
    try:
        load_identity(_on(sysroot, config.device.identity_key), config.device.device_id)
    except IdentityError as exc:
        return [f"device.key_file: {exc}"]
    return []


def _mqtt(config: Config, sysroot: Path) -> list[str]:
    mqtt = config.mqtt
    if mqtt is None:
        return []
    problems = []
    # Never read here: only whether a password would be sent matters.
    password = None if mqtt.password_file is None else "set"
    if mqtt.password_file is not None:
        path = _on(sysroot, mqtt.password_file)
        try:
            if path.stat().st_mode & 0o077:
                problems.append(f"mqtt.password_file: {path} is readable by others; chmod 600")
        except OSError as exc:
            problems.append(f"mqtt.password_file: {path}: {exc.strerror}")
    try:
        UplinkConfig(
            broker_url=mqtt.broker,
            device_id=config.device.device_id or "check-config",
            state_dir=config.device.state_dir,
            topic_root=mqtt.topic_root,
            username=mqtt.username,
            password=password,
            ca_file=mqtt.ca_file,
            cert_file=mqtt.cert_file,
            key_file=mqtt.key_file,
            heartbeat_interval_s=mqtt.heartbeat_s,
            batch_max_events=mqtt.batch_max_events,
            batch_max_bytes=mqtt.batch_max_bytes,
            allow_plaintext_credentials=mqtt.allow_plaintext_credentials,
        )
    except ValueError as exc:
        # UplinkConfig names its own fields; the technician edits the [mqtt] keys.
        message = str(exc).replace("uplink.broker_url", "mqtt.broker")
        message = message.replace("uplink.", "mqtt.")
        problems.append(message if message.startswith("mqtt.") else f"mqtt: {message}")
    return problems


def preflight(config: Config, sysroot: Path = Path("/")) -> list[str]:
    """Every problem `run` would stop at before opening the camera, each with its key path."""
    return [
        *_identity(config, sysroot),
        *_trust(config, sysroot),
        *_pins(config),
        *_mqtt(config, sysroot),
    ]


@command
def main(argv: list[str]) -> int:
    p = parser(
        "checkpoint-scanner check-config",
        "Check a scanner.toml as `run` would: every key, then the key files, trust data,\n"
        "GPIO pins and broker settings it names, without opening any hardware.",
    )
    p.add_argument(
        "file", type=Path, nargs="?", default=DEFAULT_PATH, help="the scanner.toml to check"
    )
    p.add_argument(
        "--sysroot", type=Path, default=Path("/"), help="the unit's / (for a mounted SD card)"
    )
    p.add_argument(
        "--syntax-only",
        action="store_true",
        help="check the file alone, not the files it names (on a laptop, say)",
    )
    p.add_argument("--print", action="store_true", help="print the effective configuration as TOML")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout, errors included")
    args = p.parse_args(argv)
    problems: list[str] = []
    config: Config | None = None
    try:
        config = load(args.file)
    except ConfigError as exc:
        problems = exc.problems
    if config is not None and not args.syntax_only:
        problems = [f"{args.file}: {problem}" for problem in preflight(config, args.sysroot)]
    report: dict[str, Any] = {"ok": not problems, "file": str(args.file), "errors": problems}
    if config is not None:
        report["config"] = effective(config)
    if args.json:
        print_json(report)
    elif problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
    elif args.print and config is not None:
        import tomlkit  # noqa: PLC0415 - only for --print

        print(tomlkit.dumps(effective(config)), end="")
    elif config is not None:
        print(f"{args.file}: OK (checkpoint {config.device.checkpoint_id}, "
              f"camera {config.camera.source}, mqtt {'on' if config.mqtt else 'off'})")  # fmt: skip
    return EXIT_USAGE if problems else EXIT_OK
