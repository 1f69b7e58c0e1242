"""The scan loop: camera open, frames to the scan step, health to the lights, watchdog petted.

It keeps the camera open (reopening with backoff), feeds frames to the scan step,
sets the background light from the unit's health, and pets the systemd watchdog.

When to reopen, when a camera counts as stalled and when to pet the watchdog
is decided by the pure CameraSupervisor (scanner.run.supervision); this loop
does the I/O around it: the grabber, alerts, lights, display and sd_notify.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

from scanner.camera.base import FrameSource
from scanner.camera.latest import FrameGrabber
from scanner.config.load import CameraSection
from scanner.decide.policy import Policy
from scanner.decide.step import ScanStep
from scanner.display.base import Display, NullDisplay
from scanner.display.screen import UnitStatus
from scanner.errors import SourceError
from scanner.lights.signals import Indicator
from scanner.model import DeviceState, Health
from scanner.outbox.queue import Outbox
from scanner.run.health import cpu_temperature, disk_free, uptime
from scanner.run.notify import Notifier, watchdog_interval
from scanner.run.rate import RecentCount
from scanner.run.supervision import CameraSupervisor
from scanner.trust.clock import TrustedClock
from scanner.trust.snapshot import TrustSnapshot
from scanner.trust.store import TrustStore

log = logging.getLogger(__name__)

FRAME_WAIT_S = 0.25  # the loop turns at least this often, frames or not
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
        self.supervisor = CameraSupervisor(
            reopen_min_s=camera.reopen_min_s,
            reopen_max_s=camera.reopen_max_s,
            stall_s=camera.stall_s,
            watchdog_s=watchdog_interval(),
            now=time.monotonic(),
        )
        self._health_due = 0.0
        self._shown: DeviceState | None = None
        self._last_health: Health | None = None
        self.decisions = 0
        self.by_format: Counter[str] = Counter()  # decisions per credential format
        self.recent = RecentCount()  # decisions in the last minute, for the heartbeat

    # -- camera ----------------------------------------------------------------------------

    def open_camera(self) -> bool:
        """Open the source; on failure show the fault and schedule a reopen."""
        if self.supervisor.stuck:
            return False  # the old reader still owns the source; only a restart helps
        grabber = FrameGrabber(self._source)
        try:
            grabber.start()
        except SourceError as exc:
            self._camera_failed(exc)
            return False
        self._grabber = grabber
        self.supervisor.opened(time.monotonic())
        return True

    def _frame_arrived(self) -> None:
        first = self.supervisor.frame(time.monotonic())
        if first is None:
            return
        if first.down_s is not None:
            log.info("camera back after %.0f s", first.down_s)
            self._alert("camera_recovered", {"down_s": round(first.down_s, 1)})
        self.step.reset_debounce()

    def close_camera(self) -> None:
        """Stop the frame grabber and close the camera."""
        grabber, self._grabber = self._grabber, None
        stopped = grabber is None or grabber.stop()
        self.supervisor.closed(reader_stopped=stopped)
        if not stopped:
            log.error("camera read is stuck in the driver; leaving the watchdog to restart us")

    def _camera_failed(self, exc: Exception) -> None:
        self.close_camera()
        if self.supervisor.failed(time.monotonic()):
            log.error("camera failed: %s", exc)
            self._alert("camera_fault", {"error": str(exc)})
        self._update_health(force=True)

    # -- loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Scan until `stop` is set: open, read, step, reopen with backoff."""
        supervisor = self.supervisor
        while not stop.is_set():
            now = time.monotonic()
            if self._grabber is None:
                if supervisor.may_reopen(now):
                    self.open_camera()
                else:
                    stop.wait(min(FRAME_WAIT_S, supervisor.wait_s(now)))
            else:
                self._turn()
            self._update_health()
            if supervisor.pet(now):
                self._notifier.watchdog()

    def _turn(self) -> None:
        assert self._grabber is not None
        try:
            frame = self._grabber.next_frame(FRAME_WAIT_S)
        except SourceError as exc:
            self._camera_failed(exc)
            return
        if frame is None:
            if self.supervisor.stalled(time.monotonic()):
                self._camera_failed(SourceError(f"no frame for {self._camera.stall_s:.0f} s"))
            return
        self._frame_arrived()
        unlogged = self.step.unlogged
        decided = self.step.process(frame)
        self.decisions += len(decided)
        if decided:
            self.recent.add(time.monotonic(), len(decided))
        self.by_format.update(d.verdict.format for d in decided)
        if self.step.unlogged != unlogged and not unlogged:
            # Could not log: the officer sees the degraded pattern after this verdict.
            self._update_health(force=True)

    # -- health ----------------------------------------------------------------------------

    def health(self) -> Health:
        """The unit's health now: camera, clock, trust and outbox."""
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
            unlogged=self.step.unlogged,
            revocations=snapshot.revocation_state(
                now, self._policy.revocations_stale_after_s, self._policy.revocations_gap_grace_s
            ),
        )

    def _update_health(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._health_due:
            return
        self._health_due = now + HEALTH_EVERY_S
        # Decisions held while the disk refused them go in as soon as it takes writes.
        self.step.flush_held()
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
            "decisions_by_format": dict(sorted(self.by_format.items())),
            "decisions_per_min": self.recent.count(time.monotonic()),
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
