"""`checkpoint-provision device init|enroll|install-credentials`: a trusted, enrolled unit."""

from __future__ import annotations

import argparse
import base64
import json
import time
import tomllib
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

import scanner
from provisioning import consoleqr, tomltext
from provisioning.credentials import install_credentials
from provisioning.enrollment import sign_request
from provisioning.sysroot import (
    CONFIG_PATH,
    ROOT_PUB_PATH,
    STATE_DIR,
    TEST_CARD_PATH,
    Staging,
    commit,
    load_unit,
    on_unit,
    read_optional,
    service_owner,
    stage,
)
from scanner.cli.kit import CommandError, command, echo, format_instant, parser, print_json
from scanner.config.load import parse
from scanner.decide.verify import verify_text
from scanner.errors import BundleError, ConfigError, KeyFileError
from scanner.model import ClockState, PassKind
from scanner.trust.bundle import TrustBundle, parse_bundle
from scanner.trust.identity import device_id_for
from scanner.trust.keys import PRIVATE_PREFIX, load_private_key, load_public_key
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot
from scanner.trust.store import BUNDLE_FILE
from scanner.uplink.config import parse_broker_url


def _pin(text: str) -> int | str:
    return int(text) if text.isdigit() else text


# -- init ------------------------------------------------------------------------------------


def _config_table(
    args: argparse.Namespace, device_id: str, carried: dict[str, Any]
) -> dict[str, Any]:
    camera: dict[str, Any] = {"source": args.camera_source}
    if args.camera_source == "picamera2":
        camera["picamera2"] = {"fps": args.camera_fps, "focus": args.focus}
    else:
        camera["opencv"] = {"target": args.camera_target, "fps": args.camera_fps}
    return {
        "device": {
            "checkpoint_id": args.checkpoint_id,
            "label": args.label,
            "device_id": device_id,
            "state_dir": str(args.state_dir),
        },
        "trust": {"root_pub": str(ROOT_PUB_PATH)},
        "camera": camera,
        "lights": {
            "green_pin": args.green_pin,
            "red_pin": args.red_pin,
            "amber_pin": args.amber_pin,
            "buzzer_pin": args.buzzer_pin,
            "active_high": not args.active_low,
            "pins": args.pins,
        },
        "mqtt": {"broker": args.broker, **carried},
    }


def _inputs(args: argparse.Namespace) -> tuple[bytes, TrustBundle, bytes | None]:
    """The root key file, the verified bundle and an optional verified test card."""
    try:
        root_text = args.root_pub.read_bytes()
        root = load_public_key(args.root_pub)
        bundle_bytes = args.bundle.read_bytes()
    except KeyFileError as exc:
        raise CommandError(f"{exc}; nothing was changed") from None
    except OSError as exc:
        raise CommandError(f"cannot read {exc.filename}: {exc.strerror}") from None
    try:
        bundle = parse_bundle(bundle_bytes, root)
    except BundleError as exc:
        raise CommandError(f"{args.bundle}: {exc} ({args.root_pub}); nothing was changed") from None
    card = None
    if args.test_card is not None:
        try:
            card = args.test_card.read_bytes()
        except OSError as exc:
            raise CommandError(
                f"--test-card {args.test_card}: cannot read ({exc.strerror}); "
                "give the file `issue --kind test` wrote (OUT.txt); nothing was changed"
            ) from None
        trust = TrustSnapshot(bundle, RevocationSet.empty(), 0)
        verdict = verify_text(card.strip(), trust, int(time.time()), ClockState.PINNED)
        if not verdict.accepted or verdict.info is None or verdict.info.kind is not PassKind.TEST:
            raise CommandError(f"{args.test_card}: not a valid test card for this bundle")
    return root_text, bundle, card


def _existing(key_path: Path) -> SigningKey | None:
    if not key_path.exists():
        return None
    try:
        return load_private_key(key_path)
    except KeyFileError as exc:
        raise CommandError(
            f"existing identity is unusable: {exc}; use --force to replace it"
        ) from None


def _carried_credentials(args: argparse.Namespace) -> dict[str, Any]:
    """[mqtt] credentials already installed for the kept identity, so a re-run keeps them."""
    data = read_optional(on_unit(args.sysroot, CONFIG_PATH))
    try:
        mqtt = tomllib.loads(data.decode("utf-8")).get("mqtt", {}) if data else {}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    return {k: mqtt[k] for k in ("username", "password_file", "topic_root") if k in mqtt}


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif value is not None:
            out[prefix + key] = value
    return out


def _changed_keys(current: bytes | None, wanted: dict[str, Any]) -> list[str]:
    """Each configuration key whose value would change, as `section.key (old -> new)`."""
    try:
        old = _flatten(tomllib.loads(current.decode("utf-8"))) if current else {}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    new = _flatten(wanted)
    return [
        f"{key} ({old.get(key, 'unset')!r} -> {new.get(key, 'unset')!r})"
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def _installed_bundle_is_newer(path: Path, bundle: TrustBundle, root_pub: Path) -> bool:
    data = read_optional(path)
    if data is None:
        return False
    try:
        return parse_bundle(data, load_public_key(root_pub)).version >= bundle.version
    except (BundleError, KeyFileError):
        return False


def init(args: argparse.Namespace) -> dict[str, Any]:
    """Set up a unit's sysroot: configuration, trust and identity key; a summary."""
    root_text, bundle, card = _inputs(args)
    try:
        parse_broker_url(args.broker)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    state = on_unit(args.sysroot, args.state_dir)
    key_path = state / "identity" / "device.key"
    kept = None if args.force else _existing(key_path)
    key = kept or SigningKey.generate()
    device_id = device_id_for(key.verify_key)
    table = _config_table(args, device_id, _carried_credentials(args) if kept else {})
    text = tomltext.dumps(table)
    try:
        parse(text, "generated configuration")
    except ConfigError as exc:
        raise CommandError(f"{exc}; nothing was changed") from None
    bundle_path = state / "trust" / BUNDLE_FILE
    files: dict[Path, tuple[bytes, int, bool]] = {
        on_unit(args.sysroot, ROOT_PUB_PATH): (root_text, 0o644, False),
        bundle_path: (bundle.raw, 0o644, True),
        on_unit(args.sysroot, CONFIG_PATH): (text.encode("utf-8"), 0o644, False),
    }
    if card is not None:
        files[on_unit(args.sysroot, TEST_CARD_PATH)] = (card, 0o644, False)
    if kept is not None:
        # Anti-rollback: a bundle already updated over the air is newer, and is kept.
        if _installed_bundle_is_newer(bundle_path, bundle, on_unit(args.sysroot, ROOT_PUB_PATH)):
            del files[bundle_path]
        changed = [p for p, (data, _, _) in files.items() if read_optional(p) != data]
        if changed:
            config_path = on_unit(args.sysroot, CONFIG_PATH)
            keys = (
                _changed_keys(read_optional(config_path), table) if config_path in changed else []
            )
            names = ", ".join([*keys, *(str(p) for p in changed if p != config_path or not keys)])
            raise CommandError(
                f"{key_path} already holds identity {device_id} and {names} would change; "
                "use --force to replace the identity (the unit must then be enrolled again)"
            )
    else:
        secret = (PRIVATE_PREFIX + base64.b64encode(bytes(key)).decode() + "\n").encode()
        staging = Staging(service_owner(args.sysroot))
        try:
            staging.directory(state, 0o755, owned=True)
            staging.directory(key_path.parent, 0o700, owned=True)
            staging.directory(bundle_path.parent, 0o755, owned=True)
        except OSError as exc:
            staging.abort()
            raise CommandError(
                f"device init: cannot create {exc.filename}: {exc.strerror}"
            ) from None
        stage(staging, {key_path: (secret, 0o600, True), **files}, "device init")
        commit(staging, "device init")
    return {
        "device_id": device_id,
        "public_key": base64.b64encode(bytes(key.verify_key)).decode(),
        "checkpoint_id": args.checkpoint_id,
        "config": str(CONFIG_PATH),
        "bundle_version": bundle.version,
        "changed": kept is None,
    }


# -- enroll ----------------------------------------------------------------------------------


def _device_tree(sysroot: Path, name: str) -> str | None:
    """A /proc/device-tree string (NUL-terminated); None off a Pi."""
    data = read_optional(on_unit(sysroot, Path("/proc/device-tree") / name))
    if data is None:
        return None
    text = data.rstrip(b"\x00\n").decode("utf-8", "replace").strip()
    return text or None


def enroll(args: argparse.Namespace) -> dict[str, Any]:
    """Write the unit's signed enrollment request; the request."""
    config, identity = load_unit(args.sysroot)
    fields = {
        "hardware": {
            "serial": _device_tree(args.sysroot, "serial-number"),
            "model": _device_tree(args.sysroot, "model"),
        },
        "software_version": scanner.__version__,
        "checkpoint_id": config.device.checkpoint_id,
        "label": config.device.label,
        "technician": args.technician,
        "created_at": format_instant(int(time.time())),
    }
    return sign_request(identity.key, fields)


# -- command line ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = parser("checkpoint-provision device", "Identity, enrollment and credentials of this unit.")
    sub = p.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sysroot", "--root", type=Path, default=Path("/"), help="the unit's /")
    common.add_argument("--json", action="store_true", help="one JSON object on stdout")
    i = sub.add_parser(
        "init",
        parents=[common],
        help="make the identity and the configuration",
        description="Make this unit's key, its scanner.toml and its first trust data.",
    )
    i.add_argument("--checkpoint-id", required=True, help="the checkpoint's ID, e.g. HN-HBT-01")
    i.add_argument("--label", default="", help="where the unit stands, for people")
    i.add_argument("--broker", required=True, help="mqtt[s]://host[:port]")
    i.add_argument("--root-pub", required=True, type=Path, help="the root public key to pin")
    i.add_argument("--bundle", required=True, type=Path, help="the first trust bundle")
    i.add_argument(
        "--test-card",
        type=Path,
        help="a file holding a test card's QR text (issue --kind test writes OUT.txt)",
    )
    i.add_argument("--state-dir", type=Path, default=STATE_DIR, help="outbox, trust data, identity")
    i.add_argument(
        "--camera-source",
        choices=("picamera2", "opencv"),
        default="picamera2",
        help="the Pi camera, or a USB webcam or stream",
    )
    i.add_argument("--camera-fps", type=float, default=15.0, help="frames a second to read")
    i.add_argument("--camera-target", default="0", help="opencv: device index, file or URL")
    i.add_argument(
        "--focus", choices=("auto", "fixed"), default="auto", help="picamera2: focus mode"
    )
    i.add_argument("--green-pin", type=_pin, default=17, help="GPIO (BCM) of the green lamp")
    i.add_argument("--red-pin", type=_pin, default=27, help="GPIO (BCM) of the red lamp")
    i.add_argument("--amber-pin", type=_pin, help="GPIO (BCM) of an amber lamp (default: none)")
    i.add_argument("--buzzer-pin", type=_pin, help="GPIO (BCM) of a buzzer (default: none)")
    i.add_argument("--active-low", action="store_true", help="relay boards that switch on low")
    i.add_argument(
        "--pins",
        choices=("gpio", "mock"),
        default="gpio",
        help="mock: simulated lamps for a bench unit; a real unit refuses to start on mock pins",
    )
    i.add_argument("--force", action="store_true", help="replace an existing identity")
    e = sub.add_parser(
        "enroll",
        parents=[common],
        help="a signed enrollment request",
        description="Write the request central ops turn into this unit's broker credentials.",
    )
    e.add_argument("--technician", required=True, help="your name, for ops' records")
    e.add_argument("--out", type=Path, help="write the request here (default: print it)")
    e.add_argument("--qr", action="store_true", help="also show it as a QR code on the console")
    e.add_argument("--png", type=Path, help="also write it as a QR code image")
    c = sub.add_parser(
        "install-credentials",
        parents=[common],
        help="open and install credentials",
        description="Open the sealed credentials from central ops with this unit's key.",
    )
    c.add_argument("file", type=Path, help="the creds.sealed file from central ops")
    return p


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-provision device init|enroll|install-credentials`."""
    args = _parser().parse_args(argv)
    if args.action == "init":
        summary = init(args)
        if args.json:
            print_json(summary)
        else:
            state = "provisioned" if summary["changed"] else "already provisioned, unchanged"
            echo(
                f"device {summary['device_id']} {state}: {args.sysroot / 'etc/checkpoint-scanner'}"
            )
        return 0
    if args.action == "enroll":
        return _print_request(args, enroll(args))
    summary = install_credentials(args)
    if args.json:
        print_json(summary)
    else:
        echo(f"credentials for {summary['username']} installed ({summary['password_file']})")
    return 0


def _print_request(args: argparse.Namespace, request: dict[str, Any]) -> int:
    compact = json.dumps(request, ensure_ascii=False, separators=(",", ":"))
    if args.out is not None:
        try:
            args.out.write_text(json.dumps(request, ensure_ascii=False, indent=1) + "\n")
        except OSError as exc:
            raise CommandError(f"{args.out}: cannot write ({exc.strerror})") from None
        if args.json:
            print_json({"device_id": request["device_id"], "out": str(args.out)})
        else:
            echo(f"enrollment request for {request['device_id']} written to {args.out}")
    else:
        echo(compact)
    if args.png is not None:
        consoleqr.write_png(args.png, compact)
    if args.qr:
        echo(consoleqr.blocks(compact))
    return 0
