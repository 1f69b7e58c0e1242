"""Host figures for the heartbeat: CPU temperature, free disk, uptime (Health: scanner.model)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

CPU_TEMP = Path("/sys/class/thermal/thermal_zone0/temp")


def cpu_temperature() -> float | None:
    """Degrees Celsius from the SoC's thermal zone, None off a Pi."""
    try:
        return int(CPU_TEMP.read_text().strip()) / 1000
    except (OSError, ValueError):
        return None


def disk_free(path: Path) -> int | None:
    """Free bytes on the filesystem holding `path`, None if it cannot be read."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def uptime(started: float) -> float:
    """Seconds since `started` (a monotonic time), to 0.1 s."""
    return round(time.monotonic() - started, 1)
