"""`checkpoint-provision` explains itself: help at every level, versions, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.help import undocumented_options, walk
from support.provisioning import init, make_keys

from provisioning.cli import main as provision


def test_top_level_help_lists_every_command_with_one_line_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tree = walk(provision, capsys)
    top = tree[""]
    for name in ("keygen", "trust-bundle", "issue", "revoke", "enroll-accept", "device"):
        (line,) = [x for x in top.splitlines() if x.startswith(f"  {name} ")]
        assert len(line.split()) > 2, line
    assert {"device init", "device enroll", "device install-credentials", "selftest"} <= set(tree)


def test_every_option_at_every_level_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, text in walk(provision, capsys).items():
        assert undocumented_options(text) == [], argv


def test_defaults_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    tree = walk(provision, capsys)
    assert "(default: 17)" in tree["device init"]
    assert "(default: 5.0)" in tree["selftest"]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert provision(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "checkpoint-provision 0.1.0"


@pytest.mark.parametrize("argv", [[], ["nope"], ["keygen", "--role", "x", "--out", "k"]])
def test_errors_are_one_line_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert provision(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")


def test_device_init_with_a_missing_test_card_file_names_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = tmp_path / "K"
    make_keys(capsys, k)
    code, _, err = init(capsys, k, tmp_path / "R", "--test-card", "CP1:NOT-A-FILE")
    assert code == 2
    assert err.count("\n") == 1
    assert "--test-card CP1:NOT-A-FILE: cannot read" in err
    assert not (tmp_path / "R").exists()


def test_device_init_refusing_a_changed_setting_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = tmp_path / "K"
    make_keys(capsys, k)
    r = tmp_path / "R"
    assert json.loads(init(capsys, k, r)[1])["changed"] is True
    code, _, err = init(capsys, k, r, "--green-pin", "5")
    assert code == 2
    assert "lights.green_pin (17 -> 5) would change" in err
