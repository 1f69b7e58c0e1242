"""Batch sizing without a broker: shrink on a size refusal or a lost batch, grow back slowly."""

from __future__ import annotations

from scanner.uplink.batching import GROW_AFTER, MIN_BATCH_BYTES, BatchSizer


def test_limits_start_at_the_configured_bounds() -> None:
    sizer = BatchSizer(500, 256_000)
    assert (sizer.events, sizer.bytes) == (500, 256_000)


def test_a_broker_packet_limit_caps_the_bytes_leaving_room_for_headers() -> None:
    sizer = BatchSizer(500, 256_000)
    sizer.fit(10_000)
    assert sizer.bytes == 10_000 - 512
    sizer.fit(None)  # a broker that announces no limit lifts no earlier cap
    assert sizer.bytes == 10_000 - 512
    sizer.fit(100)
    assert sizer.bytes == MIN_BATCH_BYTES


def test_a_batch_too_big_halves_both_limits_down_to_one_event() -> None:
    sizer = BatchSizer(500, 256_000)
    sizer.too_big(400, 200_000)
    assert (sizer.events, sizer.bytes, sizer.splits) == (200, 100_000, 1)
    sizer.too_big(1, 1_500)  # one event cannot be split: not counted as a split
    assert (sizer.events, sizer.bytes, sizer.splits) == (1, MIN_BATCH_BYTES, 1)


def test_limits_double_again_only_after_a_streak_of_deliveries() -> None:
    sizer = BatchSizer(500, 256_000)
    sizer.too_big(400, 200_000)
    for _ in range(GROW_AFTER - 1):
        sizer.delivered()
    assert sizer.events == 200
    sizer.delivered()
    assert (sizer.events, sizer.bytes) == (400, 200_000)
    for _ in range(GROW_AFTER * 3):
        sizer.delivered()
    assert (sizer.events, sizer.bytes) == (500, 256_000)  # never above the bounds


def test_a_failure_restarts_the_streak() -> None:
    sizer = BatchSizer(500, 256_000)
    sizer.too_big(400, 200_000)
    for _ in range(GROW_AFTER - 1):
        sizer.delivered()
    sizer.too_big(200, 100_000)
    sizer.delivered()
    assert sizer.events == 100
