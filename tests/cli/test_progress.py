"""Long work says it is alive: a redrawn line on a terminal, plain periodic lines otherwise;
every bench prints its targets and whether it met them."""

from __future__ import annotations

import io
import json

import pytest

from scanner.cli.dispatch import main as scanner
from scanner.cli.progress import PIPE_EVERY_S, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_into_a_pipe_progress_is_plain_lines_at_most_every_period() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("work", stages=2, stream=out, clock=clock)
    progress.step("counting", total=100)
    for done in range(100):
        clock.now += 1.0
        progress.advance(done)
    progress.step("writing")
    progress.finish()
    text = out.getvalue()
    assert "\r" not in text
    assert "\x1b" not in text
    lines = text.splitlines()
    assert lines[0] == "work: [1/2] counting (0 s)"
    assert len([x for x in lines if "counting" in x]) == 1 + 100 // int(PIPE_EVERY_S)
    assert "work: [2/2] writing (100 s)" in lines
    assert lines[-1] == "work: done in 100.0 s"


def test_on_a_terminal_one_line_is_redrawn() -> None:
    out, clock = Terminal(), Clock()
    progress = Progress("work", stages=1, stream=out, clock=clock)
    progress.step("counting", total=10)
    clock.now = 1.0
    progress.advance(5)
    progress.finish()
    assert out.getvalue().count("\n") == 1
    assert "\rwork: [1/1] counting 5/10 (50%) (1 s)\x1b[K" in out.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "verify", "--rounds", "1", "--calls", "5", "--json"],
        ["bench", "display", "--calls", "10", "--json"],
        ["bench", "frames", "--iterations", "2", "--json"],
    ],
)
def test_a_bench_prints_its_targets_and_whether_each_was_met(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert scanner(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["targets"]
    for target in report["targets"]:
        assert set(target) == {"figure", "target", "value", "met"}
        assert isinstance(target["met"], bool)
    assert report["targets_met"] == all(t["met"] for t in report["targets"])


def test_bench_revocations_shows_progress_on_stderr_without_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "revocations", "--entries", "20000", "--reference-entries", "2000",
            "--lookups", "100", "--json"]  # fmt: skip
    assert scanner(argv) == 0
    out, err = capsys.readouterr()
    assert "bench revocations: [1/5] building the set" in err
    assert "bench revocations: done in" in err
    assert "\r" not in err
    assert {t["figure"] for t in json.loads(out)["targets"]} == {
        "bytes_per_entry", "lookup_us", "load_s", "delta_10k_ms"
    }  # fmt: skip
