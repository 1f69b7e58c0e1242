"""The unit's health as ops and the officer see it: device state, heartbeat figures, status line."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from scanner.lights.signals import DeviceState
from scanner.model import ClockState, RevocationState, TrustState
from scanner.outbox.queue import Fill

CPU_TEMP = Path("/sys/class/thermal/thermal_zone0/temp")


@dataclass(frozen=True, slots=True)
class Health:
    """Everything that decides the background light, with the reasons."""

    camera_ok: bool
    trust: TrustState
    clock: ClockState
    outbox_fill: Fill
    revocations: RevocationState = RevocationState.FRESH

    @property
    def reasons(self) -> tuple[str, ...]:
        found = []
        if not self.camera_ok:
            found.append("no_camera")
        if self.trust is not TrustState.FRESH:
            found.append(f"trust_{self.trust.value}")
        if self.revocations is not RevocationState.FRESH:
            found.append(f"revocations_{self.revocations.value}")
        if self.clock in (ClockState.UNSYNCED, ClockState.BEHIND):
            found.append(f"clock_{self.clock.value}")
        if self.outbox_fill >= Fill.HIGH:
            found.append(f"outbox_{int(self.outbox_fill)}pct")
        return tuple(found)

    @property
    def state(self) -> DeviceState:
        if not self.camera_ok:
            return DeviceState.FAULT
        return DeviceState.DEGRADED if self.reasons else DeviceState.IDLE


def cpu_temperature() -> float | None:
    """Degrees Celsius from the SoC's thermal zone, None off a Pi."""
    try:
        return int(CPU_TEMP.read_text().strip()) / 1000
    except (OSError, ValueError):
        return None


def disk_free(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def uptime(started: float) -> float:
    return round(time.monotonic() - started, 1)
