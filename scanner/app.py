"""The composition root: builds every part from the Config, starts them in order, stops in reverse.

`checkpoint-scanner run --config FILE` is `main` here. Nothing else in the
package constructs hardware, opens the outbox or connects to the broker.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scanner.camera.base import FrameSource
from scanner.camera.opencv import OpenCVSource
from scanner.camera.picam import PicamSource
from scanner.camera.replay import ReplaySource
from scanner.camera.synthetic import SyntheticSource
from scanner.cli.kit import CommandError, command, parser
from scanner.config.convert import ConfigError
from scanner.config.load import CameraSection, Config, load
from scanner.decide.debounce import DebounceConfig, Debouncer
from scanner.decide.decode import Decoder
from scanner.decide.step import Decision, ScanStep
from scanner.decide.verify import Verifier
from scanner.display.backends import open_display
from scanner.display.base import Display
from scanner.lights.gpio import GpioIndicator, make_pin_factory
from scanner.lights.signals import Indicator, Signal
from scanner.model import ClockState
from scanner.outbox.events import EventKind, OutboxEvent
from scanner.outbox.queue import Fill, Outbox, OutboxFullError
from scanner.run.notify import Notifier
from scanner.run.scanloop import ScanLoop
from scanner.trust.clock import TrustedClock
from scanner.trust.identity import Identity, IdentityError, load_identity
from scanner.trust.keys import KeyFileError, load_public_key
from scanner.trust.store import TrustStore, TrustStoreError
from scanner.uplink.commands import CommandGate
from scanner.uplink.downlink import Downlink, DownlinkActions
from scanner.uplink.service import Uplink

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The unit cannot start: one line saying what is missing."""


def build_source(camera: CameraSection) -> FrameSource:
    """The configured frame source (picamera2 is imported only when it is opened)."""
    if camera.source == "picamera2":
        return PicamSource(camera.picamera2)
    if camera.source == "opencv":
        return OpenCVSource(camera.opencv)
    if camera.source == "replay" and camera.replay is not None:
        return ReplaySource(camera.replay)
    if camera.source == "synthetic" and camera.synthetic is not None:
        return SyntheticSource(camera.synthetic)
    raise StartupError(f"camera source {camera.source!r} is not configured")


def _read_secret(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        if path.stat().st_mode & 0o077:
            raise StartupError(f"mqtt.password_file {path}: readable by others; chmod 600")
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise StartupError(f"mqtt.password_file {path}: {exc.strerror}") from None


class App:
    """One checkpoint unit: identity, trust, outbox, lights, camera, uplink, scan loop."""

    def __init__(
        self,
        config: Config,
        *,
        source: FrameSource | None = None,
        indicator: Indicator | None = None,
        display: Display | None = None,
        pin_factory: Any = None,
        notifier: Notifier | None = None,
        on_decision: Callable[[Decision], None] | None = None,
    ) -> None:
        self.config = config
        self._source = source
        self._indicator = indicator
        self._display = display
        self._pin_factory = pin_factory
        self._notifier = notifier or Notifier()
        self._on_decision = on_decision
        self._started = time.monotonic()
        self.identity: Identity | None = None
        self.outbox: Outbox | None = None
        self.store: TrustStore | None = None
        self.uplink: Uplink | None = None
        self.loop: ScanLoop | None = None
        self._closers: list[Callable[[], None]] = []
        self._downlink: Downlink | None = None

    # -- start, in dependency order ---------------------------------------------------------

    def start(self) -> None:
        """Bring everything up; raises StartupError with one line on what is wrong."""
        config = self.config
        try:
            self.identity = load_identity(config.device.identity_key, config.device.device_id)
            root = load_public_key(config.trust.root_pub)
            self.store = TrustStore(config.trust_dir, root)
        except (IdentityError, KeyFileError, TrustStoreError) as exc:
            raise StartupError(str(exc)) from None
        clock = TrustedClock(
            config.device.state_dir / "clock-floor",
            synced=config.trust.sync_flag.exists,
            background=True,  # the floor's fsyncs stay off the scan thread
        )
        clock.observe(self.store.snapshot().bundle.issued_at)
        self._closers.append(clock.flush)
        try:
            self.outbox = Outbox(
                config.device.state_dir,
                max_bytes=config.outbox.max_bytes,
                on_fill=self._outbox_fill,
            )
        except (OSError, ValueError, sqlite3.Error) as exc:
            raise StartupError(f"outbox in {config.device.state_dir}: {exc}") from None
        self._closers.append(self.outbox.close)
        indicator = self._indicator or self._gpio_indicator()
        self._closers.append(indicator.close)
        display = self._display or open_display(
            config.display,
            label=config.device.label or config.device.checkpoint_id,
            on_fault=lambda fault: self.alert("display_fault", {"fault": fault}),
        )
        self._closers.append(display.close)
        if config.mqtt is not None:
            self.uplink = self._make_uplink(clock)
        step = ScanStep(
            decoder=Decoder(budget_ms=config.decoder.budget_ms),
            debouncer=Debouncer(DebounceConfig(gap_s=config.decoder.debounce_gap_s)),
            verifier=Verifier(self.store.snapshot, clock, config.policy),
            indicator=indicator,
            outbox=self.outbox,
            device_id=self.identity.device_id,
            checkpoint_id=config.device.checkpoint_id,
            display=display,
            on_decision=self._decided,
            on_outbox_full=lambda: self.alert("outbox_full", {"dropped": "scan"}),
        )
        self.loop = ScanLoop(
            step=step,
            source=self._source or build_source(config.camera),
            camera=config.camera,
            indicator=indicator,
            notifier=self._notifier,
            health_inputs=lambda: (self.store, clock, self.outbox),
            alert=self.alert,
            display=display,
            uplink_connected=self._uplink_connected if self.uplink else None,
            telemetry=self._telemetry,
            telemetry_every_s=config.outbox.telemetry_every_s,
            policy=config.policy,
        )
        if self.uplink is not None:
            self.uplink.start()
            self._closers.append(self.uplink.stop)
        self.loop.open_camera()
        self._notifier.ready()
        log.info(
            "checkpoint %s: device %s ready (bundle v%d, revocations %d)",
            config.device.checkpoint_id,
            self.identity.device_id,
            self.store.snapshot().bundle.version,
            self.store.snapshot().revocation_serial,
        )

    def _gpio_indicator(self) -> Indicator:
        factory = self._pin_factory
        if factory is None:
            factory, is_mock = make_pin_factory(prefer_mock=False)
            if is_mock:
                self.alert("lights_simulated", {"reason": "no GPIO library works on this host"})
        return GpioIndicator(self.config.lights, factory)

    def _make_uplink(self, clock: TrustedClock) -> Uplink:
        mqtt = self.config.mqtt
        if self.identity is None or self.outbox is None or self.store is None or mqtt is None:
            raise StartupError("uplink built before identity, outbox and trust store")
        try:
            uplink_config = mqtt.uplink_config(
                device_id=self.identity.device_id,
                state_dir=self.config.device.state_dir,
                password=_read_secret(mqtt.password_file),
            )
        except ValueError as exc:
            raise StartupError(f"mqtt: {exc}") from None
        gate = CommandGate(self.identity.device_id, self.config.device.state_dir / "command-seq")
        uplink = Uplink(
            uplink_config,
            self.outbox,
            self.identity.key,
            heartbeat=self._heartbeat,
            on_downlink=lambda message: self._downlink.handle(message) if self._downlink else None,
            on_alert=self.alert,
        )
        actions = DownlinkActions(
            identify=self._identify,
            flush=uplink.wake,
            report=uplink.report_now,
            alert=self.alert,
            command_result=uplink.publish_command_result,
            request_catchup=uplink.request_trust_catchup,
        )
        self._downlink = Downlink(self.store, gate, clock, actions)
        return uplink

    # -- running ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """The scan loop, on the calling thread, until `stop` is set."""
        assert self.loop is not None
        self.loop.run(stop)

    def stop(self) -> None:
        """Tear down in reverse order of start; safe after a failed start."""
        self._notifier.stopping()
        if self.loop is not None:
            self.loop.close_camera()
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception:  # stopping must finish whatever one part does
                log.exception("error while stopping")
        self._notifier.close()

    # -- callbacks ----------------------------------------------------------------------------

    def alert(self, code: str, detail: Mapping[str, object]) -> None:
        """A durable alert through the outbox; straight to the uplink if the outbox refuses."""
        log.warning("alert %s %s", code, dict(detail))
        if self.outbox is None or self.identity is None:
            return
        clock_state = self.loop.health().clock if self.loop is not None else ClockState.UNSYNCED
        event = OutboxEvent(
            kind=EventKind.ALERT,
            device_id=self.identity.device_id,
            checkpoint_id=self.config.device.checkpoint_id,
            wall_time=time.time(),
            clock=clock_state,
            code=code,
            detail={k: _scalar(v) for k, v in detail.items()},
        )
        try:
            self.outbox.record(event)
        except OutboxFullError:
            if self.uplink is not None:
                self.uplink.alert_now(code, "outbox full", detail)
            return
        if self.uplink is not None:
            self.uplink.wake()

    def _telemetry(self) -> None:
        """A durable health record (kind telemetry): shed first when the outbox fills."""
        if self.outbox is None or self.identity is None or self.loop is None:
            return
        figures = self.loop.heartbeat(self._started)
        event = OutboxEvent(
            kind=EventKind.TELEMETRY,
            device_id=self.identity.device_id,
            checkpoint_id=self.config.device.checkpoint_id,
            wall_time=time.time(),
            clock=self.loop.health().clock,
            code="health",
            detail=_flat(figures),
        )
        try:
            self.outbox.record(event)
        except OutboxFullError:
            log.warning("outbox full: health record not kept")

    def _outbox_fill(self, level: Fill) -> None:
        if level is not Fill.OK:
            # The outbox calls this after its commit, lock released: recording here is safe.
            self.alert("outbox_fill", {"percent": int(level)})

    def _decided(self, decision: Decision) -> None:
        if self.uplink is not None:
            self.uplink.wake()
        if self._on_decision is not None:
            self._on_decision(decision)

    def _uplink_connected(self) -> bool:
        return self.uplink is not None and self.uplink.connected

    def _identify(self) -> None:
        if self.loop is not None:
            self.loop.indicator.show(Signal.IDENTIFY)

    def _heartbeat(self) -> Mapping[str, object]:
        return self.loop.heartbeat(self._started) if self.loop is not None else {}


def _flat(figures: Mapping[str, object], prefix: str = "") -> dict[str, Scalar]:
    """Event details are flat: nested objects become dotted keys (`decode_ms.p95`)."""
    flat: dict[str, Scalar] = {}
    for key, value in figures.items():
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = _scalar(value)
    return flat


Scalar = str | int | float | bool | None


def _scalar(value: object) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


@command
def main(argv: list[str]) -> int:
    p = parser("checkpoint-scanner run", "Run the checkpoint unit (normally under systemd).")
    p.add_argument("--config", type=Path, default=Path("/etc/checkpoint-scanner/scanner.toml"))
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    # journald adds the time and unit: log level and module only.
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load(args.config)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app = App(config)
    try:
        app.start()
        app.run(stop)
    except StartupError as exc:
        raise CommandError(str(exc), status=1) from None
    except (OSError, ValueError) as exc:
        # Configuration is validated before this point; anything left is the host
        # (a full disk, a device file). One line for the journal, not a traceback.
        log.exception("cannot start")
        raise CommandError(f"cannot start: {exc}", status=1) from None
    finally:
        app.stop()
    return 0
