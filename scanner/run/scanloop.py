"""The scan loop: keeps the camera open (reopening with backoff), feeds frames to the scan step,
sets the background light from the unit's health, and pets the systemd watchdog.

The watchdog is petted from this loop only while it is doing its job: frames
arrive, or the camera is down and being reopened under our control. A camera
read that hangs (the grabber thread stuck in a driver call) stops frames; after
`stall_s` the camera is treated as failed, and if reopening keeps failing for
`GIVE_UP_AFTER` attempts the loop stops petting, so systemd restarts the
service with a fresh process and a fresh camera stack.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from scanner.camera.base import FrameSource
from scanner.camera.errors import SourceError
from scanner.camera.latest import FrameGrabber
from scanner.config.load import CameraSection
from scanner.decide.step import ScanStep
from scanner.decide.verify import Policy
from scanner.display.base import Display, NullDisplay
from scanner.display.screen import UnitStatus
from scanner.lights.signals import DeviceState, Indicator
from scanner.outbox.queue import Outbox
from scanner.run.health import Health, cpu_temperature, disk_free, uptime
from scanner.run.notify import Notifier, watchdog_interval
from scanner.trust.clock import TrustedClock
from scanner.trust.snapshot import TrustSnapshot
from scanner.trust.store import TrustStore

log = logging.getLogger(__name__)

FRAME_WAIT_S = 0.25  # the loop turns at least this often, frames or not
GIVE_UP_AFTER = 8  # failed reopens in a row before the watchdog is left to restart us
HEALTH_EVERY_S = 1.0

HealthInputs = Callable[[], tuple[TrustStore | None, TrustedClock, Outbox | None]]
Alert = Callable[[str, Mapping[str, object]], None]


class ScanLoop:
    """Runs on the main thread; everything it calls returns within a frame period."""

    def __init__(
        self,
        *,
        step: ScanStep,
        source: FrameSource,
        camera: CameraSection,
        indicator: Indicator,
        notifier: Notifier,
        health_inputs: HealthInputs,
        alert: Alert,
        display: Display | None = None,
        uplink_connected: Callable[[], bool] | None = None,
        telemetry: Callable[[], None] | None = None,
        telemetry_every_s: float = 0.0,
        policy: Policy | None = None,
    ) -> None:
        self.step = step
        self._policy = policy or Policy()
        self.indicator = indicator
        self._source = source
        self._camera = camera
        self._notifier = notifier
        self._inputs = health_inputs
        self._alert = alert
        self.display = display or NullDisplay()
        self._uplink_connected = uplink_connected
        self._offline_since: float | None = None
        self._telemetry = telemetry
        self._telemetry_every = telemetry_every_s
        self._telemetry_due = time.monotonic() + telemetry_every_s
        self._grabber: FrameGrabber | None = None
        self._backoff = camera.reopen_min_s
        self._reopen_at = 0.0
        self._failures = 0
        self._camera_down_since: float | None = None
        self._last_frame = time.monotonic()
        self._delivering = False  # the open camera has delivered a frame
        self._stuck = False  # a reader thread would not stop: never reopen in-process
        self._health_due = 0.0
        self._shown: DeviceState | None = None
        self._last_health: Health | None = None
        self.decisions = 0

    # -- camera ----------------------------------------------------------------------------

    def open_camera(self) -> bool:
        """Open the source; on failure show the fault and schedule a reopen.

        An open camera counts as recovered only when its first frame arrives: a
        camera that opens but never delivers must keep failing towards GIVE_UP_AFTER.
        """
        if self._stuck:
            return False  # the old reader still owns the source; only a restart helps
        grabber = FrameGrabber(self._source)
        try:
            grabber.start()
        except SourceError as exc:
            self._camera_failed(exc)
            return False
        self._grabber = grabber
        self._last_frame = time.monotonic()
        return True

    def _frame_arrived(self) -> None:
        self._last_frame = time.monotonic()
        if self._delivering:
            return
        self._delivering = True
        if self._camera_down_since is not None:
            down = time.monotonic() - self._camera_down_since
            log.info("camera back after %.0f s", down)
            self._alert("camera_recovered", {"down_s": round(down, 1)})
        self._camera_down_since = None
        self._failures = 0
        self._backoff = self._camera.reopen_min_s
        self.step.reset_debounce()

    def close_camera(self) -> None:
        grabber, self._grabber = self._grabber, None
        self._delivering = False
        if grabber is not None and not grabber.stop():
            self._stuck = True
            log.error("camera read is stuck in the driver; leaving the watchdog to restart us")

    def _camera_failed(self, exc: Exception) -> None:
        self.close_camera()
        now = time.monotonic()
        self._failures += 1
        if self._camera_down_since is None:
            self._camera_down_since = now
            log.error("camera failed: %s", exc)
            self._alert("camera_fault", {"error": str(exc)})
        self._reopen_at = now + self._backoff
        self._backoff = min(self._backoff * 2, self._camera.reopen_max_s)
        self._update_health(force=True)

    # -- loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        interval = watchdog_interval()
        next_pet = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if self._grabber is None:
                if now >= self._reopen_at:
                    self.open_camera()
                else:
                    stop.wait(min(FRAME_WAIT_S, self._reopen_at - now))
            else:
                self._turn()
            self._update_health()
            if interval is not None and now >= next_pet and self._alive():
                self._notifier.watchdog()
                next_pet = now + interval

    def _turn(self) -> None:
        assert self._grabber is not None
        try:
            frame = self._grabber.next_frame(FRAME_WAIT_S)
        except SourceError as exc:
            self._camera_failed(exc)
            return
        if frame is None:
            if time.monotonic() - self._last_frame > self._camera.stall_s:
                self._camera_failed(SourceError(f"no frame for {self._camera.stall_s:.0f} s"))
            return
        self._frame_arrived()
        self.decisions += len(self.step.process(frame))

    def _alive(self) -> bool:
        if self._stuck or self._failures >= GIVE_UP_AFTER:
            return False
        if self._grabber is not None:
            return time.monotonic() - self._last_frame <= self._camera.stall_s
        return self._failures < GIVE_UP_AFTER

    # -- health ----------------------------------------------------------------------------

    def health(self) -> Health:
        store, clock, outbox = self._inputs()
        now, clock_state = clock.now()
        if store is None or outbox is None:
            raise RuntimeError("health asked before the trust store and outbox were up")
        snapshot = store.snapshot()
        return Health(
            camera_ok=self._grabber is not None,
            trust=snapshot.state(now),
            clock=clock_state,
            outbox_fill=outbox.fill(),
            revocations=snapshot.revocation_state(
                now, self._policy.revocations_stale_after_s, self._policy.revocations_gap_grace_s
            ),
        )

    def _update_health(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._health_due:
            return
        self._health_due = now + HEALTH_EVERY_S
        health = self.health()
        self.display.set_status(UnitStatus(health, self._track_offline()))
        if health.state is not self._shown:
            self.indicator.set_state(health.state)
            if self._shown is not None and health.state is DeviceState.DEGRADED:
                self._alert("degraded", {"reasons": ",".join(health.reasons)})
            self._shown = health.state
        self._last_health = health
        if self._telemetry is not None and self._telemetry_every > 0 and now >= self._telemetry_due:
            # Heartbeats are live only; this durable copy gives ops the unit's history
            # across an offline stretch. It is what the outbox sheds first when full.
            self._telemetry_due = now + self._telemetry_every
            self._telemetry()
        reasons = ",".join(health.reasons) or "ok"
        self._notifier.status(
            f"{health.state.value} ({reasons}); {self.step.stats.fps():.1f} fps; "
            f"{self.decisions} decisions"
        )

    def _track_offline(self) -> float | None:
        """Wall time the uplink was last seen connected, while it is not; None when online."""
        if self._uplink_connected is None:
            return None
        if self._uplink_connected():
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = time.time()
        return self._offline_since

    def heartbeat(self, started: float) -> Mapping[str, object]:
        """The daemon's part of the heartbeat (the uplink adds outbox and link figures)."""
        store, clock, outbox = self._inputs()
        health = self._last_health or self.health()
        now, _ = clock.now()
        snapshot = store.snapshot() if store is not None else None
        stats = self.step.stats
        # The shape is the contract of docs/mqtt.md section 3 (dashboards read it as is).
        return {
            "uptime_s": uptime(started),
            "state": health.state.value,
            "reasons": list(health.reasons),
            "camera_ok": health.camera_ok,
            "frames_per_s": round(stats.fps(), 2),
            "decode_ms": {
                "p50": stats.decode_percentile(0.5),
                "p95": stats.decode_percentile(0.95),
            },
            "decisions": self.decisions,
            "trust": {
                "bundle_version": snapshot.bundle.version if snapshot else None,
                "age_s": now - snapshot.bundle.issued_at if snapshot else None,
                "state": health.trust.value,
            },
            "revocation_serial": snapshot.revocation_serial if snapshot else None,
            "revocations": _revocations(snapshot, health, now),
            "clock": health.clock.value,
            "clock_floor": clock.floor,
            "cpu_temp_c": cpu_temperature(),
            "disk_free_bytes": disk_free(outbox.path.parent) if outbox is not None else None,
        }


def _revocations(
    snapshot: TrustSnapshot | None, health: Health, now: int
) -> dict[str, object] | None:
    """The revocation line's own freshness, for ops (docs/mqtt.md section 3)."""
    if snapshot is None:
        return None
    record = snapshot.revocation
    return {
        "state": health.revocations.value,
        "serial": snapshot.revocation_serial,
        "age_s": None if record.issued_at is None else now - record.issued_at,
        "newest_seen": record.newest_seen,
        "awaiting_snapshot": record.awaiting_snapshot,
    }
