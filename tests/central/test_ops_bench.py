"""bench-trace runs and reports contacts beside the two index reads; its traffic has buses."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ops import cli
from ops.traffic import synthetic_rows


def test_synthetic_traffic_is_in_time_order_with_riders_travelling_together() -> None:
    rows = list(synthetic_rows(20_000, 1_800_000_000.0))
    assert len(rows) == 20_000
    times = [row[7] for row in rows]
    assert times == sorted(times)
    # A bus: many passes at one checkpoint in the same five minutes.
    groups = Counter((row[5], row[7] // 300) for row in rows)
    assert max(groups.values()) >= 20
    assert {row[8] for row in rows} >= {"synced", "unsynced", "behind"}


def test_bench_trace_reports_contacts_beside_the_index_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench-trace", "--db", f"sqlite:///{tmp_path}/bench.db", "--rows", "20000",
            "--samples", "3", "--json"]  # fmt: skip
    assert cli.main(argv) in (0, 1)  # the figures belong to the benchmark run, not the test
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report) >= {"pass", "checkpoint_1h", "checkpoint_1d", "contacts_depth2"}
    contacts = report["contacts_depth2"]
    assert {"p50_ms", "max_ms", "f1_avg", "f2_avg", "cut"} <= set(contacts)
    assert contacts["f1_avg"] > 0
    assert report["target_ms"] == 1000


def test_bench_ingest_prints_both_figures_the_target_and_whether_it_was_met(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "ingest", "--db", f"sqlite:///{tmp_path}/ingest.db", "--messages", "300",
            "--devices", "5", "--live-rate", "100", "--live-seconds", "1", "--json"]  # fmt: skip
    assert cli.main(argv) == 0  # exit status: every event stored once, whatever the speed
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    one = report["1_event_messages"]
    assert one["stored_once"] is True
    assert one["collector_messages_per_s"] > 0 < one["bare_insert_events_per_s"]
    assert report["target_one_event_messages_per_s"] == 8000
    assert report["target_met"] is (one["collector_messages_per_s"] >= 8000)
    assert report["stored_size_one_event_messages"]["rows"] == 300
    live = report["live_paced"]  # offered at a pace, as units send, not queued
    assert live["messages"] == 100
    assert live["stored_once"] is True
    assert 0 <= live["scan_to_stored_s"]["p50"] <= live["scan_to_stored_s"]["p95"]
    assert live["target_p95_s"] == 2.0
    assert live["target_met"] is (live["scan_to_stored_s"]["p95"] < 2.0)
