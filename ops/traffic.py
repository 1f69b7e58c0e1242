"""Synthetic national traffic for the tracing benchmark: buses and cars through laned checkpoints.

The density is fixed (EVENTS_PER_S over CHECKPOINTS) and the span grows with the
row count, so one checkpoint-hour, one traveller-day or one contact case holds the
same number of scans at 1 million rows as at 20 million: what changes between the
two is only the size of the table.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from typing import Any

CHECKPOINTS = 500
LANES = 4  # scanning units per checkpoint
DEVICES = CHECKPOINTS * LANES
PASSES = 2_000_000  # travellers, each on a trip now and then
EVENTS_PER_S = 7.7  # 20 million scans in 30 days
BENCH_STORE = "bench"
_BUS_SHARE = 0.05  # of trips; a bus carries 20-50 travellers, so buses make half the scans
_SCANS_PER_TRIP = _BUS_SHARE * 35 * 4 + (1 - _BUS_SHARE) * 2 * 3.5


def device_id(device: int) -> str:
    """The device ID of synthetic device number `device`."""
    return f"cp-bench{device:08x}"


def checkpoint_id(checkpoint: int) -> str:
    """The checkpoint ID of synthetic checkpoint number `checkpoint`."""
    return f"CP-{checkpoint:04d}"


def span_s(count: int) -> float:
    """Seconds of traffic that `count` events make."""
    return count / EVENTS_PER_S


def _clock(device: int) -> str:
    # A few units run on an unsynced or set-back clock, as some Pis without an RTC do.
    if device % 211 == 0:
        return "behind"
    return "unsynced" if device % 97 == 0 else "synced"


def _trip(rng: random.Random, start: float) -> Iterator[tuple[float, int, str]]:
    """(time, device, pass ID) of every scan of one trip along a corridor of checkpoints."""
    bus = rng.random() < _BUS_SHARE
    count = rng.randint(20, 50) if bus else 1 + int(rng.random() < 0.6)
    riders = [f"PX{rng.randrange(PASSES):010d}" for _ in range(count)]
    checkpoint = rng.randrange(CHECKPOINTS)
    step = rng.choice((-3, -2, -1, 1, 2, 3))
    at = start
    for _ in range(rng.randint(3, 5) if bus else rng.randint(2, 5)):
        lanes = rng.sample(range(LANES), 2) if bus else [rng.randrange(LANES)]
        spread = 300.0 if bus else 30.0  # a bus's riders queue past two lanes for minutes
        for rider in riders:
            lane = rng.choice(lanes)
            yield at + rng.uniform(0, spread), checkpoint * LANES + lane, rider
        checkpoint = (checkpoint + step) % CHECKPOINTS
        at += rng.uniform(1800, 3 * 3600)


def synthetic_rows(count: int, end: float, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """``count`` scans in time order ending near ``end``, as ops.schema.EVENT_COLUMNS rows."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    trips_per_s = EVENTS_PER_S / _SCANS_PER_TRIP
    now = end - span_s(count)
    pending: list[tuple[float, int, int, str]] = []
    order = itertools.count()
    seqs = [0] * DEVICES
    # Built once: 20 million rows are generated in Python, so every string made per row counts.
    devices = [device_id(d) for d in range(DEVICES)]
    checkpoints = [checkpoint_id(d // LANES) for d in range(DEVICES)]
    clocks = [_clock(d) for d in range(DEVICES)]
    produced = 0
    while produced < count:
        now += rng.expovariate(trips_per_s)
        for at, device, rider in _trip(rng, now):
            heapq.heappush(pending, (at, next(order), device, rider))
        while pending and pending[0][0] <= now and produced < count:
            at, _, device, rider = heapq.heappop(pending)
            seqs[device] += 1
            produced += 1
            rejected = rng.random() < 0.08
            yield (
                devices[device],
                BENCH_STORE,
                seqs[device],
                "scan",
                None,
                checkpoints[device],
                at,
                int(at),
                clocks[device],
                "reject" if rejected else "accept",
                "expired" if rejected else None,
                "fresh",
                rider,
                "9f86d081884c7d65",
                12,
                3456,
                4.2,
                None,
                None,
                at + 0.05,
            )
