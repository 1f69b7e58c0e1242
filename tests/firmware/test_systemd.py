"""The systemd units pass systemd's own checks: verify (clean) and security (<= 2.0)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEMD_DIR = REPO / "systemd"
SERVICES = sorted(SYSTEMD_DIR.glob("*.service"))
SYSTEM_UNIT_DIR = Path("/usr/lib/systemd/system")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
# --threshold is ten times the displayed exposure: 20 means at most 2.0.
MAX_EXPOSURE = 2.0

needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)"
)


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args], capture_output=True, text=True, timeout=60, check=False
    )


def _unit_values(unit: Path, section: str) -> dict[str, list[str]]:
    """All values of each key in one section of a unit file (keys may repeat)."""
    values: dict[str, list[str]] = {}
    current = None
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        if current == section:
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def _executables(unit: Path) -> list[str]:
    """The absolute program paths of every Exec*= line, without systemd's prefixes."""
    paths = []
    for key, values in _unit_values(unit, "Service").items():
        if key.startswith("Exec"):
            for value in values:
                program = value.split()[0].lstrip("@-:+!|")
                if program.startswith("/"):
                    paths.append(program)
    return paths


def _root_with_unit(root: Path, unit: Path, *, text: str | None = None) -> Path:
    """A filesystem root holding systemd's own units, this unit and a stub of its programs.

    `verify` checks that ExecStart's program exists, and on this machine the
    daemon's virtualenv does not: `--root` makes it look inside this tree.
    """
    shutil.copytree(SYSTEM_UNIT_DIR, root / "usr/lib/systemd/system", symlinks=True)
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    (unit_dir / unit.name).write_text(unit.read_text() if text is None else text)
    for program in _executables(unit):
        stub = root / program.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    return root


def test_there_is_a_scanner_service() -> None:
    assert SYSTEMD_DIR / "checkpoint-scanner.service" in SERVICES


@needs_systemd_analyze
@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_unit_verifies_without_any_warning(unit: Path, tmp_path: Path) -> None:
    root = _root_with_unit(tmp_path, unit)
    result = _analyze("verify", f"--root={root}", unit.name)
    assert result.returncode == 0, result.stderr
    # verify exits 0 on unknown keys and bad values, only warning on stderr.
    assert result.stderr == ""


@needs_systemd_analyze
def test_verify_check_catches_a_key_unknown_to_systemd_252(tmp_path: Path) -> None:
    unit = SYSTEMD_DIR / "checkpoint-scanner.service"
    text = unit.read_text().replace("[Service]\n", "[Service]\nRestartSteps=3\n", 1)
    root = _root_with_unit(tmp_path, unit, text=text)
    result = _analyze("verify", f"--root={root}", unit.name)
    assert "RestartSteps" in result.stderr


@needs_systemd_analyze
def test_verify_check_catches_a_missing_program(tmp_path: Path) -> None:
    unit = SYSTEMD_DIR / "checkpoint-scanner.service"
    root = _root_with_unit(tmp_path, unit)
    for program in _executables(unit):
        (root / program.lstrip("/")).unlink()
    result = _analyze("verify", f"--root={root}", unit.name)
    assert result.returncode != 0
    assert "not executable" in result.stderr


@needs_systemd_analyze
@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_unit_exposure_is_at_most_2(unit: Path) -> None:
    threshold = int(MAX_EXPOSURE * 10)
    result = _analyze("security", "--offline=yes", f"--threshold={threshold}", str(unit))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    sys.stdout.write(f"{unit.name}: exposure {match.group(1)}\n")
    assert result.returncode == 0, result.stdout
    assert float(match.group(1)) <= MAX_EXPOSURE


def test_scanner_service_is_supervised_by_systemd() -> None:
    service = _unit_values(SYSTEMD_DIR / "checkpoint-scanner.service", "Service")
    unit = _unit_values(SYSTEMD_DIR / "checkpoint-scanner.service", "Unit")
    assert service["Type"] == ["notify"]
    assert service["ExecStart"] == [
        "/opt/checkpoint-scanner/venv/bin/checkpoint-scanner run "
        "--config /etc/checkpoint-scanner/scanner.toml"
    ]
    assert service["WatchdogSec"]
    assert service["Restart"] == ["on-failure"]
    assert unit["StartLimitAction"] == ["reboot"]
    assert int(unit["StartLimitBurst"][0]) > 1
    # An unprovisioned image must not fail into the start limit and reboot.
    assert unit["ConditionPathExists"] == ["/etc/checkpoint-scanner/scanner.toml"]


def test_scanner_service_gives_lgpio_a_writable_working_directory() -> None:
    service = _unit_values(SYSTEMD_DIR / "checkpoint-scanner.service", "Service")
    assert service["RuntimeDirectory"] == ["checkpoint-scanner"]
    assert service["WorkingDirectory"] == ["%t/checkpoint-scanner"]
    assert "LG_WD=%t/checkpoint-scanner" in service["Environment"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["StateDirectory"] == ["checkpoint-scanner"]
    assert service["User"] == ["checkpoint"]
    assert service["SupplementaryGroups"] == ["video gpio"]


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers absent")
def test_sysusers_creates_the_service_user_in_video_and_gpio(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    conf = SYSTEMD_DIR / "sysusers.d/checkpoint-scanner.conf"
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(conf)], check=True, capture_output=True
    )
    passwd = (tmp_path / "etc/passwd").read_text().splitlines()
    user = next(line.split(":") for line in passwd if line.startswith("checkpoint:"))
    assert user[5] == "/var/lib/checkpoint-scanner"
    assert user[6].endswith("nologin")
    groups = {
        line.split(":")[0]: line.split(":")[3]
        for line in (tmp_path / "etc/group").read_text().splitlines()
    }
    assert groups["video"] == "checkpoint"
    assert groups["gpio"] == "checkpoint"


def _conf(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def test_journal_is_kept_in_memory() -> None:
    conf = _conf(SYSTEMD_DIR / "journald.conf.d/checkpoint-scanner.conf")
    assert conf["Journal"]["Storage"] == "volatile"


def test_hardware_watchdog_fits_the_broadcom_limit() -> None:
    conf = _conf(SYSTEMD_DIR / "system.conf.d/checkpoint-watchdog.conf")
    value = conf["Manager"]["RuntimeWatchdogSec"]
    assert value.endswith("s")
    assert 0 < int(value.removesuffix("s")) <= 15


def test_the_service_can_read_what_gpiozero_needs_to_find_the_board() -> None:
    # ProcSubset=pid hides /proc/cpuinfo and /proc/device-tree, where gpiozero's
    # LGPIOFactory reads the Pi's revision: the unit then has no pin factory at all.
    service = _unit_values(SYSTEMD_DIR / "checkpoint-scanner.service", "Service")
    assert service.get("ProcSubset", ["all"]) == ["all"]
    assert service["ProtectProc"] == ["invisible"]  # other processes stay hidden
