"""The benchmark commands run, print JSON, and put the project beside its reference.

Figures are not asserted (they belong to the benchmark runs); that each bench
measures both sides in the same run, and reports the fields the issues name, is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.cli.dispatch import main
from scanner.demo.broker import Broker, find_mosquitto


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["bench", *argv]) == 0
    out = capsys.readouterr().out.strip()
    document: dict[str, object] = json.loads(out)
    return document


def test_bench_verify_reports_the_pass_beside_a_bare_ed25519_verify(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = run_json(
        capsys, "verify", "--rounds", "2", "--calls", "20", "--revoked", "1000", "--json"
    )
    assert {"pass_verify_us", "bare_ed25519_us", "ratio", "with_clock_us"} <= set(figures)
    assert figures["revoked_entries"] == 1000


def test_bench_verify_hc1_reports_both_algorithms_rules_and_the_dsc_list_beside_references(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = run_json(
        capsys, "verify", "--format", "hc1", "--rounds", "1", "--calls", "6", "--json"
    )
    for algorithm in ("es256", "ps256"):
        assert {"hc1_verify_us", "bare_cryptography_us", "ratio", "target_ratio"} <= set(
            figures[algorithm]
        )
    assert figures["rules"]["first_failure"] is None  # the bench certificate passes its rules
    assert figures["rules"]["rules_passed"] == figures["rules"]["rules_in_force_for_a_vaccination"]
    assert figures["dsc_list"]["dscs"] == 10_000
    judged = {t["figure"] for t in figures["targets"]}
    assert judged == {"es256.ratio", "ps256.ratio", "rules.rule_set_ms", "dsc_list.load_s"}
    assert isinstance(figures["targets_met"], bool)


def test_bench_verify_hc1_takes_the_country_with_the_most_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    testdata = Path(__file__).resolve().parents[3] / "shared/vectors/dgc-business-rules-testdata"
    if not testdata.is_dir():
        pytest.skip("shared vectors not present")
    figures = run_json(
        capsys, "verify", "--format", "hc1", "--rounds", "1", "--calls", "3",
        "--rules", str(testdata), "--json",
    )  # fmt: skip
    rules = figures["rules"]
    most = max(len(list(c.glob("*/rule.json"))) for c in testdata.iterdir() if c.is_dir())
    assert rules["rules_in_set"] == most > 1
    assert rules["value_sets"] > 0  # found beside the rules
    assert rules["rules_in_force_for_a_vaccination"] > 1


def test_bench_revocations_reports_memory_lookup_load_and_delta_beside_a_python_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = run_json(capsys, "revocations", "--entries", "20000", "--lookups", "1000", "--json")
    assert figures["entries"] == 20000
    wanted = {"bytes_per_entry", "lookup_us", "load_s", "delta_10k_ms", "ref_pyset_lookup_us"}
    assert wanted <= set(figures)


def test_bench_display_reports_the_hand_off_beside_a_bare_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = run_json(capsys, "display", "--calls", "20", "--json")
    assert {"handoff_us", "reference_event_set_us", "render_ms_console"} <= set(figures)


def test_bench_uplink_drains_an_outbox_beside_bare_paho_and_sqlite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if find_mosquitto() is None:
        pytest.skip("no mosquitto binary on this machine")
    broker = Broker(tmp_path / "broker")
    broker.start()
    try:
        figures = run_json(
            capsys, "uplink", "--broker", broker.url, "--events", "2000", "--commits", "50",
            "--dir", str(tmp_path), "--json",
        )  # fmt: skip
    finally:
        broker.stop()
    assert figures["events"] == 2000
    assert {"seconds", "events_per_s", "commits_per_s", "reference"} <= set(figures)


def test_bench_downlink_reports_puback_and_frame_times_with_and_without_an_apply(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if find_mosquitto() is None:
        pytest.skip("no mosquitto binary on this machine")
    figures = run_json(
        capsys, "downlink", "--entries", "2000", "--events", "3000", "--window", "0.3",
        "--dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert figures["entries"] == 2000
    for side in ("without_apply", "during_apply"):
        assert {"puback_ms", "frame_ms"} <= set(figures[side])  # type: ignore[arg-type]
    reference = figures["reference"]
    assert {"builder_alone_seconds", "in_process_alone_seconds"} <= set(reference)  # type: ignore[arg-type]
    assert {"puback_p95_ms", "frame_p95_ms"} <= set(figures["change"])  # type: ignore[arg-type]
    assert "during_apply.daemon_cpu_s" in [t["figure"] for t in figures["targets"]]  # type: ignore[attr-defined,index]


def test_bench_downlink_prints_both_sides_in_one_table_with_the_targets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if find_mosquitto() is None:
        pytest.skip("no mosquitto binary on this machine")
    argv = ["downlink", "--entries", "500", "--events", "2000", "--window", "0.2"]
    assert main(["bench", *argv, "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "without apply" in line)
    assert "during apply" in header
    assert any(line.startswith("frame p95 ms") for line in out.splitlines())
    assert "target during_apply.frame_ms.max < 100" in out
