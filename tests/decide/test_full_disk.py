"""A full disk does not close the checkpoint: the verdict shows, the unit says it could not
log, and what it could not log goes in when there is room again (a real EFBIG, in a child)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).parent.parent / "support" / "full_disk_child.py"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    state = tmp_path_factory.mktemp("state")
    env = {**os.environ, "PYTHONPATH": str(CHILD.parent.parent)}
    done = subprocess.run(
        [sys.executable, str(CHILD), str(state)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    result["stderr"] = done.stderr
    return result


def test_every_verdict_still_shows_while_the_disk_is_full(report: dict[str, Any]) -> None:
    assert report["before"] == [True]
    expired, valid, expired_again = report["full"]
    assert expired == {"logged": [False], "lit": {"green": False, "red": True}}
    assert valid == {"logged": [False], "lit": {"green": True, "red": False}}
    assert expired_again["lit"] == {"green": False, "red": True}


def test_the_unit_is_degraded_with_could_not_log_until_the_disk_recovers(
    report: dict[str, Any],
) -> None:
    assert report["unlogged"] == 3
    assert report["reasons"] == ["log_failed"]
    assert report["state"] == "degraded"
    assert report["troubles"] == [[1, "storage_error"]]  # told once, not per scan
    assert report["flush_while_full"] is False
    assert "could not log" in report["stderr"]


def test_held_decisions_are_committed_in_order_when_there_is_room_again(
    report: dict[str, Any],
) -> None:
    assert report["flush_after"] is True
    assert report["recovered"] == [[3, 0, "storage_error"]]
    assert report["unlogged_after"] == 0
    assert report["after"] == [True]
    assert report["stored"] == ["accept", "reject", "accept", "reject", "accept"]
