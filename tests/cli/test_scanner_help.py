"""`checkpoint-scanner` explains itself: help at every level, versions, one-line errors."""

from __future__ import annotations

import pytest
from support.help import undocumented_options, walk

from scanner.cli.dispatch import main as scanner


def test_help_at_every_level_exits_0_and_lists_commands_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tree = walk(scanner, capsys)
    for name in ("run", "check-config", "scan", "demo", "bench", "render-display"):
        (line,) = [x for x in tree[""].splitlines() if x.startswith(f"  {name} ")]
        assert len(line.split()) > 2, line
    assert {"bench verify", "bench revocations", "bench uplink", "scan"} <= set(tree)


def test_every_option_at_every_level_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, text in walk(scanner, capsys).items():
        assert undocumented_options(text) == [], argv


def test_defaults_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    tree = walk(scanner, capsys)
    assert "10000000)" in tree["bench revocations"]
    assert "(default: 60.0)" in tree["demo"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert scanner(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "checkpoint-scanner 0.1.0"


@pytest.mark.parametrize(
    "argv", [[], ["nope"], ["bench", "nope"], ["bench", "verify", "--rounds", "x"], ["scan"]]
)
def test_errors_are_one_line_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert scanner(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
