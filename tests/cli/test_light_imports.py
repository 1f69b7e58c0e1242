"""`check-config` and `--help` stay light: a fresh interpreter loads no camera, MQTT or crypto.

A technician runs these at the roadside on a Pi, where importing OpenCV and
numpy alone takes seconds; the test runs each command in a subprocess and
reads `sys.modules` after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.config import FULL

HEAVY = ("cv2", "numpy", "zxingcpp", "paho", "nacl")

_PROBE = (
    f"HEAVY = {HEAVY!r}"
    + """
import contextlib, io, json, sys
from scanner.cli.dispatch import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    try:
        status = main(sys.argv[1:])
    except SystemExit as exc:  # argparse's --help exits
        status = exc.code
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
print(json.dumps({"status": status, "loaded": loaded, "output": out.getvalue()}))
"""
)


def run_command(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("argv", [["--help"], ["check-config", "--help"]])
def test_help_loads_no_heavy_module(argv: list[str]) -> None:
    result = run_command(*argv)
    assert "usage" in str(result["output"])
    assert result["loaded"] == []


def test_check_config_of_a_full_file_loads_no_heavy_module(tmp_path: Path) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(FULL)
    result = run_command("check-config", str(path))
    assert result["status"] == 0, result["output"]
    assert "OK" in str(result["output"])
    assert result["loaded"] == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The check itself works: `scan --help` loads the decoder, and the probe says so."""
    result = run_command("scan", "--help")
    assert "cv2" in result["loaded"]  # type: ignore[operator]
