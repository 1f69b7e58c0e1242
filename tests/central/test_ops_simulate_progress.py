"""`checkpoint-ops simulate` is not silent: a redrawn line on a terminal, plain lines otherwise."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from support.broker import Broker

from ops import cli


def _argv(broker: Broker, tmp_path: Path) -> list[str]:
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    return ["simulate", "--broker", broker.url, "--db", db, "--devices", "2",
            "--rate", "2", "--duration", "2", "--json"]  # fmt: skip


def test_simulate_into_a_pipe_writes_plain_progress_lines_on_stderr(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(_argv(broker, tmp_path)) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.strip().splitlines()[-1])["stored"] > 0  # stdout is the summary only
    assert "\r" not in err
    assert "\x1b" not in err
    lines = err.splitlines()
    assert "simulate: [1/3] starting the broker, collector and devices (0 s)" in lines
    assert any(line.startswith("simulate: [2/3] scanning (seconds)") for line in lines)
    assert any(line.startswith("simulate: [3/3] waiting for the collector") for line in lines)
    assert lines[-1].startswith("simulate: done in ")


def test_simulate_on_a_terminal_redraws_one_progress_line(broker: Broker, tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", *_argv(broker, tmp_path)],
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the child closed the terminal's last copy
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    assert json.loads(out.decode().strip().splitlines()[-1])["stored"] > 0
    text = seen.decode()
    assert "\rsimulate: [2/3] scanning (seconds)" in text
    assert "\x1b[K" in text
    # One line, redrawn in place: only the final "done" ends it (a pty shows \n as \r\n).
    assert text.count("\n") == 1
    assert "simulate: done in " in text
