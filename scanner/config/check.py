"""Every check `run` makes before it opens hardware, as key-path problems (check-config's core)."""

from __future__ import annotations

from pathlib import Path

from scanner.config.load import Config
from scanner.errors import IdentityError, KeyFileError, TrustStoreError
from scanner.trust.identity import load_identity
from scanner.trust.keys import load_public_key
from scanner.trust.store import TrustStore
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
