"""`checkpoint-provision selftest`: the roadside checklist, as text or one JSON report."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from provisioning import sandbox
from provisioning import selftest_hw as hw
from provisioning.selftest_hw import Check
from provisioning.sysroot import CONFIG_PATH, TEST_CARD_PATH, on_unit
from scanner.cli.kit import EXIT_FAILED, EXIT_OK, command, echo, format_instant, parser, print_json
from scanner.config.load import Config, load
from scanner.demo import samples
from scanner.errors import (
    ConfigError,
    IdentityError,
    KeyFileError,
    LightsUnavailableError,
    TrustStoreError,
)
from scanner.lights.gpio import make_pin_factory
from scanner.model import ClockState, TrustState
from scanner.outbox.queue import OUTBOX_FILENAME
from scanner.trust.bundle import TrustBundle, parse_bundle
from scanner.trust.clock import TrustedClock
from scanner.trust.identity import load_identity
from scanner.trust.keys import load_public_key
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.snapshot import TrustSnapshot
from scanner.trust.store import TrustStore
from scanner.uplink.config import parse_broker_url
from scanner.uplink.session import Connection, Will

MIN_FREE_BYTES = 16 * 1024 * 1024
# Importing OpenCV and numpy in a fresh process: seconds on a Pi, minutes under emulation.
SANDBOX_TIMEOUT_S = 600.0
RESERVED_TLDS = frozenset({"example", "invalid", "test"})
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
NEEDS_CONFIG = (
    "identity",
    "lights",
    "camera",
    "test_card",
    "display",
    "clock",
    "trust",
    "broker",
    "outbox",
)


def _identity(root: Path, config: Config) -> tuple[Check, str | None]:
    try:
        identity = load_identity(on_unit(root, config.device.identity_key), config.device.device_id)
    except IdentityError as exc:
        return Check("identity", "fail", str(exc)), None
    return Check("identity", "pass", identity.device_id), identity.device_id


def _clock(root: Path, config: Config) -> tuple[Check, int, ClockState]:
    floor = on_unit(root, config.device.state_dir / "clock-floor")
    # Never synced here: a self-test must not move the persisted floor.
    now, state = TrustedClock(floor, synced=lambda: False).now()
    synced = on_unit(root, config.trust.sync_flag).exists()
    state = ClockState.SYNCED if synced and state is ClockState.UNSYNCED else state
    data = {"state": state.value, "now": format_instant(now)}
    if state is ClockState.SYNCED:
        return Check("clock", "pass", f"synchronised: {data['now']}", data), now, state
    detail = {
        ClockState.UNSYNCED: "not synchronised (no NTP yet); expiry is judged on the floor",
        ClockState.BEHIND: "system clock is behind the last trusted time; the floor is used",
    }[state]
    return Check("clock", "warn", detail, data), now, state


def _trust(root: Path, config: Config, now: int) -> tuple[Check, TrustSnapshot | None]:
    try:
        pinned = load_public_key(on_unit(root, config.trust.root_pub))
        snapshot = TrustStore(on_unit(root, config.trust_dir), pinned).snapshot()
    except (KeyFileError, TrustStoreError) as exc:
        return Check("trust", "fail", str(exc)), None
    bundle = snapshot.bundle
    state = snapshot.state(now)
    data = {
        "bundle_version": bundle.version,
        "issued_at": format_instant(bundle.issued_at),
        "expires_at": format_instant(bundle.expires_at),
        "age_days": round((now - bundle.issued_at) / 86400, 1),
        "revocation_serial": snapshot.revocation_serial,
        "state": state.value,
    }
    status = {TrustState.FRESH: "pass", TrustState.STALE: "warn", TrustState.EXPIRED: "fail"}
    detail = f"bundle v{bundle.version}, {data['age_days']} days old, {state.value}"
    return Check("trust", status[state], detail, data), snapshot


def _broker(root: Path, config: Config, device_id: str | None, timeout: float) -> Check:
    settings = config.mqtt
    if settings is None:
        return Check("broker", "skip", "no [mqtt] in the configuration")
    address = parse_broker_url(settings.broker)
    where = f"{address.host}:{address.port}"
    host = address.host.lower().rstrip(".")
    reserved = any(host == d or host.endswith("." + d) for d in RESERVED_DOMAINS)
    if host.rsplit(".", 1)[-1] in RESERVED_TLDS or reserved:
        # RFC 2606/6761 names never resolve: say so without asking any resolver.
        return Check("broker", "fail", f"{where} is a reserved example name, not a broker")
    password = None
    if settings.password_file is not None:
        try:
            password = on_unit(root, settings.password_file).read_text().strip()
        except OSError as exc:
            return Check("broker", "fail", f"password file: {exc.strerror}")
    unit = device_id or "unknown"
    try:
        # The daemon's own settings and connection code, so TLS, the client
        # certificate and the credentials are checked exactly as the service uses them.
        uplink = settings.uplink_config(
            device_id=unit,
            state_dir=on_unit(root, config.device.state_dir),
            password=password,
            client_id=f"{unit}-selftest",  # never the daemon's own: it would take over its session
            on_unit=lambda path: on_unit(root, path),
        )
    except ValueError as exc:
        return Check("broker", "fail", str(exc))
    uplink = dataclasses.replace(uplink, connect_timeout_s=timeout)
    conn = Connection(
        uplink,
        # Retained and empty: if this link drops, the will clears, never marks the unit offline.
        will=Will(f"{uplink.topic_root}/devices/{unit}/selftest", b""),
        stop=threading.Event(),
        on_message=lambda _message: None,
        on_lost=lambda: None,
    )
    if not conn.open():
        return Check("broker", "fail", f"{where}: {conn.failure}")
    conn.close()
    how = "TLS, certificate verified" if address.tls else "no TLS"
    who = "client certificate" if settings.cert_file else settings.username or "anonymous"
    return Check("broker", "pass", f"{where} accepted {who} ({how})")


def _outbox(root: Path, config: Config) -> Check:
    state = on_unit(root, config.device.state_dir)
    path = state / OUTBOX_FILENAME
    data: dict[str, Any] = {}
    try:
        data["free_bytes"] = shutil.disk_usage(state).free
    except OSError as exc:
        return Check("outbox", "fail", f"{state}: {exc.strerror}")
    if path.exists():
        try:
            # Read-only: the self-test never writes to the outbox.
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                data["integrity"] = str(db.execute("PRAGMA integrity_check").fetchone()[0])
                data["events"] = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
        except sqlite3.Error as exc:
            return Check("outbox", "fail", f"{path}: {exc}", data)
        if data["integrity"] != "ok":
            return Check("outbox", "fail", f"{path}: {data['integrity']}", data)
    free_mib = data["free_bytes"] // 2**20
    if data["free_bytes"] < MIN_FREE_BYTES:
        return Check("outbox", "fail", f"only {free_mib} MiB free", data)
    status = "warn" if data["free_bytes"] < config.outbox.max_bytes else "pass"
    where = f"{data.get('events', 0)} events waiting" if path.exists() else "no outbox yet"
    return Check("outbox", status, f"{where}; {free_mib} MiB free", data)


def _hardware(
    config: Config, args: argparse.Namespace, pin_factory: Any = None
) -> tuple[list[Check], Any]:
    """The lights and camera checks in this process; also the pin factory they used."""
    if pin_factory is not None:
        factory, mock = pin_factory, True
        lights = hw.lights(config.lights, args.confirm, factory, mock)
    else:
        mock = config.lights.pins == "mock"
        try:
            factory = make_pin_factory(config.lights.pins)
            lights = hw.lights(config.lights, args.confirm, factory, mock)
        except LightsUnavailableError as exc:
            # The service would refuse to start: say so, and still check the test card.
            lights = Check("lights", "fail", f"{exc}; the service will not start")
            factory = MockFactory()
    return [lights, hw.camera(config, args.camera_seconds)], factory


def _sandboxed(args: argparse.Namespace) -> list[Check]:
    """The lights and camera checks in a transient service with the unit's own sandbox."""
    names = ("lights", "camera")
    try:
        properties = sandbox.unit_properties()
    except (sandbox.SandboxError, OSError, subprocess.SubprocessError) as exc:
        return [Check(n, "fail", f"the service's sandbox could not be built: {exc}") for n in names]
    argv = [sys.executable, "-m", "provisioning.cli", "selftest", "--hardware-only"]
    argv += ["--camera-seconds", str(args.camera_seconds)] + (["--confirm"] if args.confirm else [])
    try:
        # With --confirm the lamp question goes to the technician's terminal on stderr.
        done = subprocess.run(  # noqa: S603 - argv from the unit file, no shell
            sandbox.command(properties, argv),
            stdout=subprocess.PIPE,
            stderr=None if args.confirm else subprocess.PIPE,
            text=True,
            timeout=SANDBOX_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return [Check(n, "fail", f"systemd-run: {exc}") for n in names]
    try:
        found = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
        checks = [Check(n, found[n]["status"], found[n]["detail"], found[n].get("data", {}))
                  for n in names]  # fmt: skip
    except (ValueError, KeyError, TypeError):
        last = (done.stderr or "").strip().splitlines()[-1:]
        why = last[0] if last else sandbox.why_failed(sandbox.unit_name()) or "see the journal"
        # The service itself would not start either: 226 is systemd's NAMESPACE failure.
        detail = f"under the service's sandbox, exited {done.returncode}: {why}"
        return [Check(n, "fail", detail) for n in names]
    for check in checks:
        check.detail += " (under the service's sandbox)"
        check.data["sandbox"] = sandbox.SERVICE
    return checks


def run(args: argparse.Namespace, pin_factory: Any = None) -> tuple[list[Check], str | None]:
    """Every check, in the order a technician reads them."""
    root: Path = args.sysroot
    try:
        config = load(on_unit(root, CONFIG_PATH))
    except ConfigError as exc:
        checks = [Check("config", "fail", str(exc))]
        return checks + [Check(n, "skip", "no valid configuration") for n in NEEDS_CONFIG], None
    checks = [Check("config", "pass", f"{config.device.checkpoint_id} {config.device.label}")]
    identity, device_id = _identity(root, config)
    checks.append(identity)
    if pin_factory is None and not args.no_sandbox and sandbox.available(root):
        checks += _sandboxed(args)
        # The test card's pattern, after the sandboxed lamp test has let go of the pins.
        try:
            factory = make_pin_factory(config.lights.pins)
        except LightsUnavailableError:
            factory = MockFactory()
    else:
        hardware, factory = _hardware(config, args, pin_factory)
        checks += hardware
    clock, now, clock_state = _clock(root, config)
    trust, snapshot = _trust(root, config, now)
    sample = samples.build(int(time.time()))
    card_path = args.test_card or on_unit(root, TEST_CARD_PATH)
    text, own = hw.read_card(card_path, lambda: sample.by_name("test-card").text)
    lamps = {"lights_config": config.lights, "factory": factory}
    if args.test_card is not None and not own:
        # A card the technician named must be the one checked, never the built-in sample.
        card = Check("test_card", "fail", f"--test-card {args.test_card}: cannot read it")
        shown = Check("display", "skip", "no test card to show")
    elif own and snapshot is not None:
        card = hw.test_card(text, snapshot, now=now, clock=clock_state, own_keys=True, **lamps)
        shown = hw.display(config, text, snapshot, now=now, clock=clock_state)
    elif own:
        card = Check("test_card", "skip", "no usable trust store to verify against")
        shown = Check("display", "skip", "no usable trust store to verify the test card")
    else:
        # The sample is signed by throwaway keys: check it against its own bundle.
        own_trust = TrustSnapshot(_sample_bundle(sample), RevocationSet.empty(), 0)
        card = hw.test_card(
            text, own_trust, now=sample.now, clock=ClockState.PINNED, own_keys=False, **lamps
        )
        shown = hw.display(config, text, own_trust, now=sample.now, clock=ClockState.PINNED)
    checks += [card, shown]
    checks += [clock, trust, _broker(root, config, device_id, args.broker_timeout)]
    checks.append(_outbox(root, config))
    if args.bench_seconds > 0:
        checks.append(hw.decode_speed(text, hw.rate(config), args.bench_seconds))
    else:  # asked for: a re-check of one fix should not wait for the frames to render
        checks.append(Check("decode_speed", "skip", "not measured (--bench-seconds 0)"))
    return checks, device_id


def _sample_bundle(sample: samples.SampleSet) -> TrustBundle:
    return parse_bundle(sample.bundle, sample.keys.root.verify_key)


STATUSES = """\
Each line is one check:
  pass  checked and working
  warn  working, but read the line: normal at the roadside only for `clock`
        (not synchronised until the unit reaches NTP) and `lights` (not
        confirmed without --confirm); any other warning needs a fix or a reason
  skip  not checkable here (mock pins, no camera module, no display configured)
  fail  the unit will not work as configured: do not leave it
exit status: 0 no check failed (warnings and skips allowed), 1 at least one
failed (with --strict, also a warning), 2 the selftest could not run."""


STATUS_ORDER = ("pass", "warn", "skip", "fail")


def _summary(checks: list[Check]) -> str:
    return ", ".join(f"{sum(c.status == s for c in checks)} {s}" for s in STATUS_ORDER)


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-provision selftest`: the roadside checklist."""
    p = parser(
        "checkpoint-provision selftest", "Check this unit end to end before leaving it.", STATUSES
    )
    p.add_argument("--sysroot", "--root", type=Path, default=Path("/"), help="the unit's /")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--confirm", action="store_true", help="ask whether the lamps lit")
    p.add_argument(
        "--strict", action="store_true", help="a warning fails the unit too (exit status 1)"
    )
    p.add_argument(
        "--test-card",
        type=Path,
        help="a file holding a test card's QR text (default: the one device init installed)",
    )
    p.add_argument(
        "--camera-seconds", type=float, default=2.0, help="how long to measure the frame rate"
    )
    p.add_argument(
        "--bench-seconds",
        type=float,
        default=3.0,
        help="how long to measure decode speed (0: skip it, e.g. to re-check one fix)",
    )
    p.add_argument(
        "--broker-timeout", type=float, default=5.0, help="seconds to wait for the broker"
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="check lights and camera in this process, not under the service's sandbox "
        "(systemd-run with the unit's properties, the default on a booted unit)",
    )
    p.add_argument(
        "--hardware-only",
        action="store_true",
        help="only the lights and camera checks, as JSON (what selftest runs in the sandbox)",
    )
    args = p.parse_args(argv)
    if args.hardware_only:
        try:
            config = load(on_unit(args.sysroot, CONFIG_PATH))
        except ConfigError as exc:
            checks = [Check(n, "fail", str(exc)) for n in ("lights", "camera")]
        else:
            checks, _ = _hardware(config, args)
        print_json({"checks": [c.to_json() for c in checks]})
        return EXIT_OK
    checks, device_id = run(args)
    failing = ("fail", "warn") if args.strict else ("fail",)
    ok = not any(c.status in failing for c in checks)
    if args.json:
        print_json(
            {
                "ok": ok,
                "device_id": device_id,
                "summary": {s: sum(c.status == s for c in checks) for s in STATUS_ORDER},
                "checks": [c.to_json() for c in checks],
            }
        )
    else:
        for check in checks:
            echo(f"{check.status.upper():5} {check.name:13} {check.detail}")
        verdict = "unit OK" if ok else f"unit NOT OK: fix the {' and '.join(failing)} lines"
        echo(f"{verdict} ({_summary(checks)})")
    return EXIT_OK if ok else EXIT_FAILED
