"""The sandbox selftest builds for its lights and camera checks, from the real unit file.

That the transient service really gets it (and drives real lines) is proven in
the QEMU lab (tests/system/test_system_boot.py); here, what is taken from the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioning import sandbox

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "checkpoint-scanner.service"
DROP_IN = """
# /etc/systemd/system/checkpoint-scanner.service.d/lab.conf
[Service]
BindReadOnlyPaths=/usr/local/lib/lab/cpuinfo:/proc/cpuinfo
TimeoutStartSec=300s
ProcSubset=pid
"""


def _systemctl_cat() -> str:
    return f"# /etc/systemd/system/checkpoint-scanner.service\n{UNIT.read_text()}{DROP_IN}"


def test_the_sandbox_is_the_units_hardening_without_its_life_cycle() -> None:
    properties = sandbox.service_properties(_systemctl_cat())
    keys = [p.split("=", 1)[0] for p in properties]
    kept = ("User", "SupplementaryGroups", "ProtectSystem", "ProtectProc", "DevicePolicy",
            "MemoryDenyWriteExecute", "SystemCallFilter", "RestrictAddressFamilies")  # fmt: skip
    for key in kept:
        assert key in keys, key
    assert "DeviceAllow=char-gpiochip rw" in properties
    assert "SystemCallFilter=~@privileged @resources" in properties
    for dropped in ("Type", "ExecStart", "WatchdogSec", "Restart", "RestartSec",
                    "TimeoutStartSec", "NotifyAccess"):  # fmt: skip
        assert dropped not in keys, dropped
    # Unit-level keys ([Unit], [Install]) are not the service's sandbox.
    assert "StartLimitAction" not in keys
    assert "WantedBy" not in keys
    # Drop-ins come after the file, as systemd applies them.
    assert properties[-2:] == ["BindReadOnlyPaths=/usr/local/lib/lab/cpuinfo:/proc/cpuinfo",
                               "ProcSubset=pid"]  # fmt: skip


def test_the_running_service_keeps_its_runtime_directory() -> None:
    properties = sandbox.service_properties(_systemctl_cat())
    assert "RuntimeDirectory=checkpoint-scanner-selftest" in properties
    assert "WorkingDirectory=/run/checkpoint-scanner-selftest" in properties
    assert "Environment=LG_WD=/run/checkpoint-scanner-selftest" in properties
    assert not any("%" in p for p in properties)
    # The state directory is shared on purpose: it is what the service reads.
    assert "StateDirectory=checkpoint-scanner" in properties


def test_continuation_lines_and_unknown_specifiers() -> None:
    text = "[Service]\nSystemCallFilter=@system-service \\\n  @network-io\nUser=x\n"
    assert sandbox.service_properties(text) == [
        "SystemCallFilter=@system-service @network-io",
        "User=x",
    ]
    with pytest.raises(sandbox.SandboxError, match="%i"):
        sandbox.service_properties("[Service]\nEnvironment=NAME=%i\n")


def test_systemd_run_gets_every_property_and_marks_the_child() -> None:
    argv = sandbox.command(["User=checkpoint", "ProtectSystem=strict"], ["python", "-V"])
    assert argv[0] == "systemd-run"
    assert {"--wait", "--pipe", "--collect"} <= set(argv)
    assert "--property=User=checkpoint" in argv
    assert "--property=ProtectSystem=strict" in argv
    assert f"--setenv={sandbox.SANDBOXED_ENV}=1" in argv
    assert argv[-3:] == ["--", "python", "-V"]
