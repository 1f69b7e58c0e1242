"""The composition root: builds every part from the Config, starts them in order, stops in reverse.

`checkpoint-scanner run` (scanner.cli.run) starts it. Nothing else in the
package constructs hardware, opens the outbox or connects to the broker.
"""

from __future__ import annotations

import logging
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
from scanner.config.load import CameraSection, Config
from scanner.decide.debounce import DebounceConfig, Debouncer
from scanner.decide.decode import Decoder
from scanner.decide.hc1 import Hc1Format
from scanner.decide.step import Decision, ScanStep
from scanner.decide.verify import Verifier
from scanner.display.backends import open_display
from scanner.display.base import Display
from scanner.errors import (
    IdentityError,
    KeyFileError,
    LightsUnavailableError,
    OutboxError,
    StartupError,
    TrustStoreError,
)
from scanner.lights.gpio import GpioIndicator, make_pin_factory
from scanner.lights.signals import Indicator, Signal
from scanner.model import Fill
from scanner.outbox.events import OutboxEvent
from scanner.outbox.queue import Outbox
from scanner.run.notify import Notifier
from scanner.run.scanloop import ScanLoop
from scanner.trust.clock import TrustedClock
from scanner.trust.dcc_store import DccStore
from scanner.trust.identity import Identity, load_identity
from scanner.trust.keys import load_public_key
from scanner.trust.store import TrustStore
from scanner.uplink.commands import CommandGate
from scanner.uplink.downlink import Downlink, DownlinkActions
from scanner.uplink.service import Uplink

log = logging.getLogger(__name__)


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
    """One checkpoint unit: identity, trust, outbox, lights, camera, uplink, scan loop.

    Built in one phase: the constructor makes each part whole, in dependency
    order, or closes what it made and raises StartupError. `start` then goes
    live (uplink thread, camera, READY=1); `stop` runs the closers in reverse.
    """

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
        self._pin_factory = pin_factory
        self._notifier = notifier or Notifier()
        self._on_decision = on_decision
        self._started = time.monotonic()
        self._closers: list[Callable[[], None]] = []
        try:
            self.identity = self._load_identity()
            self.store = self._open_trust()
            self.dcc = self._open_dcc(self.store)
            self.clock = self._open_clock()
            self.outbox = self._open_outbox()
            # Everything `alert` needs exists from here on; the parts below may alert.
            self.uplink = self._make_uplink() if config.mqtt is not None else None
            self.indicator = indicator or self._gpio_indicator()
            self._closers.append(self.indicator.close)
            self.display = display or self._open_display()
            self._closers.append(self.display.close)
            self.loop = self._make_loop(source or build_source(config.camera))
        except BaseException:
            self.stop()
            raise

    # -- the parts, in dependency order ----------------------------------------------------

    def _load_identity(self) -> Identity:
        device = self.config.device
        try:
            return load_identity(device.identity_key, device.device_id)
        except IdentityError as exc:
            raise StartupError(str(exc)) from None

    def _open_trust(self) -> TrustStore:
        try:
            root = load_public_key(self.config.trust.root_pub)
            return TrustStore(self.config.trust_dir, root)
        except (KeyFileError, TrustStoreError) as exc:
            raise StartupError(str(exc)) from None

    def _open_dcc(self, store: TrustStore) -> DccStore:
        # EU DCC trust data lives beside the bundle, verified with the dcc key it names.
        return DccStore(self.config.trust_dir, lambda: store.snapshot().bundle.dcc_key)

    def _open_clock(self) -> TrustedClock:
        config = self.config
        clock = TrustedClock(
            config.device.state_dir / "clock-floor",
            synced=config.trust.sync_flag.exists,
            background=True,  # the floor's fsyncs stay off the scan thread
        )
        clock.observe(self.store.snapshot().bundle.issued_at)
        self._closers.append(clock.flush)
        return clock

    def _open_outbox(self) -> Outbox:
        config = self.config
        try:
            outbox = Outbox(
                config.device.state_dir,
                max_bytes=config.outbox.max_bytes,
                on_fill=self._outbox_fill,
            )
        except (OSError, ValueError, sqlite3.Error) as exc:
            raise StartupError(f"outbox in {config.device.state_dir}: {exc}") from None
        self._closers.append(outbox.close)
        return outbox

    def _open_display(self) -> Display:
        return open_display(
            self.config.display,
            label=self.config.device.label or self.config.device.checkpoint_id,
            on_fault=lambda fault: self.alert("display_fault", {"fault": fault}),
        )

    def _make_loop(self, source: FrameSource) -> ScanLoop:
        config = self.config
        step = ScanStep(
            decoder=Decoder(budget_ms=config.decoder.budget_ms),
            debouncer=Debouncer(DebounceConfig(gap_s=config.decoder.debounce_gap_s)),
            verifier=Verifier(
                self.store.snapshot,
                self.clock,
                config.policy,
                # EU DCCs beside CP1 passes (docs/credentials.md).
                formats=[Hc1Format(self.dcc.snapshot, self.store.snapshot, config.policy)],
            ),
            indicator=self.indicator,
            outbox=self.outbox,
            device_id=self.identity.device_id,
            checkpoint_id=config.device.checkpoint_id,
            display=self.display,
            on_decision=self._decided,
            on_outbox_full=lambda: self.alert("outbox_full", {"held": "scan"}),
            on_log_trouble=lambda t: self.alert("log_failed", {"reason": t.reason}),
            on_log_recovered=lambda t: self.alert(
                "log_recovered", {"reason": t.reason, "held": t.held, "lost": t.lost}
            ),
        )
        return ScanLoop(
            step=step,
            source=source,
            camera=config.camera,
            indicator=self.indicator,
            notifier=self._notifier,
            health_inputs=lambda: (self.store, self.clock, self.outbox),
            alert=self.alert,
            display=self.display,
            uplink_connected=self._uplink_connected if self.uplink else None,
            telemetry=self._telemetry,
            telemetry_every_s=config.outbox.telemetry_every_s,
            policy=config.policy,
        )

    # -- going live ---------------------------------------------------------------------------

    def start(self) -> None:
        """Go live: the uplink thread, the camera, READY=1 for systemd."""
        if self.uplink is not None:
            self.uplink.start()
            self._closers.append(self.uplink.stop)
        self.loop.open_camera()
        self._notifier.ready()
        log.info(
            "checkpoint %s: device %s ready (bundle v%d, revocations %d)",
            self.config.device.checkpoint_id,
            self.identity.device_id,
            self.store.snapshot().bundle.version,
            self.store.snapshot().revocation_serial,
        )

    def _gpio_indicator(self) -> Indicator:
        lights = self.config.lights
        # Real pins that fail stop the start (systemd restarts it and, at the limit,
        # reboots): a unit must never scan with lights nobody sees.
        try:
            factory = self._pin_factory or make_pin_factory(lights.pins)
            indicator = GpioIndicator(lights, factory)
        except LightsUnavailableError as exc:
            raise StartupError(f"lights: {exc}") from None
        if self._pin_factory is None and lights.pins == "mock":
            self.alert("lights_simulated", {"reason": "configured: lights.pins = mock"})
        return indicator

    def _make_uplink(self) -> Uplink:
        mqtt = self.config.mqtt
        assert mqtt is not None  # built only when [mqtt] is configured
        try:
            uplink_config = mqtt.uplink_config(
                device_id=self.identity.device_id,
                state_dir=self.config.device.state_dir,
                password=_read_secret(mqtt.password_file),
                checkpoint_id=self.config.device.checkpoint_id,
                label=self.config.device.label,
            )
        except ValueError as exc:
            raise StartupError(f"mqtt: {exc}") from None
        gate = CommandGate(self.identity.device_id, self.config.device.state_dir / "command-seq")
        uplink = Uplink(
            uplink_config,
            self.outbox,
            self.identity.key,
            heartbeat=self._heartbeat,
            on_downlink=lambda message: downlink.handle(message),  # noqa: PLW0108 - made below
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
        downlink = Downlink(self.store, gate, self.clock, actions, dcc=self.dcc)
        return uplink

    # -- running ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """The scan loop, on the calling thread, until `stop` is set."""
        self.loop.run(stop)

    def stop(self) -> None:
        """Tear down in reverse order of construction; safe after a failed one, and twice."""
        self._notifier.stopping()
        loop: ScanLoop | None = getattr(self, "loop", None)  # absent if construction failed
        if loop is not None:
            loop.close_camera()
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
        event = self._event(code, {k: _scalar(v) for k, v in detail.items()})
        try:
            self.outbox.record(event)
        except OutboxError as exc:
            # Full or failing disk: ops still hear of it, signed but not stored.
            if self.uplink is not None:
                self.uplink.alert_now(code, str(exc), detail)
            return
        if self.uplink is not None:
            self.uplink.wake()

    def _telemetry(self) -> None:
        """A durable health record (kind telemetry): shed first when the outbox fills."""
        event = self._event("health", _flat(self.loop.heartbeat(self._started))).as_telemetry()
        try:
            self.outbox.record(event)
        except OutboxError as exc:
            log.warning("health record not kept: %s", exc)

    def _event(self, code: str, detail: dict[str, Scalar]) -> OutboxEvent:
        return OutboxEvent.alert(
            code,
            detail,
            device_id=self.identity.device_id,
            checkpoint_id=self.config.device.checkpoint_id,
            wall_time=time.time(),
            clock=self.clock.now()[1],
        )

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
        self.indicator.show(Signal.IDENTIFY)

    def _heartbeat(self) -> Mapping[str, object]:
        return self.loop.heartbeat(self._started)


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
