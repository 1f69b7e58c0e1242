"""One process of the fleet simulator: a slice of the devices, scanning on one scheduler thread.

Run by ``checkpoint-ops simulate`` as ``python -m ops.fleet`` with a JSON spec on stdin;
prints one JSON line (what each device produced) when its devices are drained.
Several such processes share the fleet because every device brings two threads
(the uplink's and paho's) and the GIL of one process would measure itself.
"""

from __future__ import annotations

import heapq
import json
import logging
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ops.device import SimulatedDevice
from scanner.cli.kit import echo

log = logging.getLogger(__name__)

_CHAOS_EVERY_S = 3.0  # how often some devices drop off the network
_CHAOS_SHARE = 0.1  # and how many of them


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Scan at ``rate`` per device for ``duration`` seconds, then drain every outbox."""
    rng = random.Random(spec.get("seed"))  # noqa: S311 - simulation timing, not secrets
    devices = [
        SimulatedDevice(
            bytes.fromhex(entry["seed"]),
            entry["checkpoint"],
            Path(spec["state_dir"]) / entry["seed"][:16],
            spec["broker"],
            heartbeat_interval_s=float(spec.get("heartbeat_interval", 5.0)),
        )
        for entry in spec["devices"]
    ]
    stop = threading.Event()
    for device in devices:
        device.connect()
        stop.wait(0.01)  # a fleet that powers up at once still connects one by one
    rate = float(spec["rate"])
    start = time.time()
    end = start + float(spec["duration"])
    due = [(start + rng.uniform(0, 1 / rate), i) for i in range(len(devices))]
    heapq.heapify(due)
    offline: dict[int, float] = {}
    next_chaos = start + _CHAOS_EVERY_S
    while due:
        at, index = due[0]
        if at >= end:
            break
        now = time.time()
        if now < at:
            stop.wait(at - now)
            continue
        heapq.heapreplace(due, (at + rng.expovariate(rate), index))
        devices[index].scan(time.time())
        if spec.get("chaos") and now >= next_chaos:
            next_chaos = now + _CHAOS_EVERY_S
            _chaos(devices, offline, rng, now)
    for index in offline:
        devices[index].connect()
    undrained = _drain(devices, float(spec.get("drain_timeout", 60.0)))
    report = {
        "produced": sum(d.outbox.last_seq() for d in devices),
        "undrained": undrained,
        "devices": {d.device_id: [d.outbox.store_id, d.outbox.last_seq()] for d in devices},
    }
    for device in devices:
        device.close()
    return report


def _chaos(
    devices: list[SimulatedDevice], offline: dict[int, float], rng: random.Random, now: float
) -> None:
    """Bring back the devices whose time is up, and take some others off the network."""
    for index, until in list(offline.items()):
        if now >= until:
            devices[index].connect()
            del offline[index]
    for index in rng.sample(range(len(devices)), max(1, int(len(devices) * _CHAOS_SHARE))):
        if index not in offline:
            devices[index].disconnect()
            offline[index] = now + rng.uniform(1.0, 5.0)


def _drain(devices: list[SimulatedDevice], timeout: float) -> int:
    """Wait until every outbox is empty (all acknowledged by the broker); returns what is left."""
    deadline = time.monotonic() + timeout
    waiting = threading.Event()
    while time.monotonic() < deadline:
        left = sum(device.outbox.depth() for device in devices)
        if left == 0:
            return 0
        for device in devices:
            if device.uplink is not None:
                device.uplink.wake()
        waiting.wait(0.2)
    return sum(device.outbox.depth() for device in devices)


def main() -> int:
    """Run one fleet process: the spec on stdin, the report on stdout."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    spec = json.loads(sys.stdin.read())
    report = run(spec)
    echo(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
