"""The vision benchmarks print the JSON shapes the issue asks for (numbers are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from scanner.bench import decode, device, frames
from scanner.camera.synthetic import render_code

KEYS = {"images", "decoded", "bare_decoded", "ms_p50", "ms_p95", "bare_ms_p50"}


def test_bench_decode_reports_each_folder_and_the_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder, text in (("a", "first\r\ntext"), ("b", "second")):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "1.png"), render_code(text, (320, 240)))
        (tmp_path / folder / "1.txt").write_bytes(text.encode())
    (tmp_path / "b" / "2.png").write_bytes(b"broken")
    (tmp_path / "b" / "2.txt").write_bytes(b"x")
    assert decode.main(["--corpus", str(tmp_path), "--json", "--repeat", "1"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert set(report["folders"]) == {"a", "b"}
    assert set(report["total"]) >= KEYS
    assert all(set(f) >= KEYS for f in report["folders"].values())
    assert report["total"]["images"] == 2
    assert report["total"]["decoded"] == 2
    assert "2.png" in captured.err  # a bad file is a one-line error, not a crash


def test_bench_decode_refuses_a_missing_corpus(tmp_path: Path) -> None:
    assert decode.main(["--corpus", str(tmp_path / "none"), "--json"]) == 2


def test_bench_frames_reports_both_sizes_with_and_without_a_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert frames.main(["--json", "--iterations", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = {"640x480_empty", "640x480_code", "1280x720_empty", "1280x720_code"}
    assert set(report) == names | {"targets", "targets_met"}
    assert all({"ms_p50", "bare_ms_p50", "ratio"} <= set(report[n]) for n in names)


def test_bench_device_prints_rate_and_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    device.main(["--seconds", "0.5", "--fps", "15"])
    report = json.loads(capsys.readouterr().out)
    assert {"fps_decoded", "cpu_cores", "frames", "dropped", "ok"} <= set(report)
