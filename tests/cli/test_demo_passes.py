"""`demo --passes`: a test card is shown as a test card, and the folder it names is kept."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.cli.dispatch import main as scanner


def test_the_test_card_is_never_shown_as_accept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scanner(["demo", "--passes", "--json", "--out", str(tmp_path)]) == 0
    rows = {r["sample"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["test-card"]["verdict"] == "test_card"
    assert rows["valid"]["verdict"] == "accept"


def test_the_folder_it_names_is_still_there_afterwards(capsys: pytest.CaptureFixture[str]) -> None:
    assert scanner(["demo", "--passes"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"sample passes in (\S+)", out)
    assert match is not None, out
    folder = Path(match.group(1))
    try:
        assert (folder / "valid.png").is_file()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_demo_into_a_pipe_has_no_control_characters_and_one_ready_screen() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scanner.cli.dispatch", "demo", "--duration", "4", "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout
    assert "\x1b" not in done.stdout
    boxes = re.findall(r"\n\+-+\+\n(.*?)\n\+-+\+\n", done.stdout, flags=re.S)
    assert boxes
    assert "READY" in boxes[0]
    assert all(a != b for a, b in itertools.pairwise(boxes)), "a screen drawn twice"
