"""selftest's lights and camera checks under the service's sandbox (systemd-run, unit properties).

A check run as root sees devices, /proc and system calls the service never will:
the unit once ran its lamps on no pin factory because `ProcSubset=pid` hid
/proc/cpuinfo, while a root shell could read it. So on a booted unit the lights
and camera checks run in a transient service built from the installed
`checkpoint-scanner.service` itself (its file and drop-ins, as `systemctl cat`
prints them): the same user, groups, hardening, device policy and system call
filter. Only what is about the service's life cycle (start, watchdog, restart,
timeouts, notify) is left out, and its runtime directory gets its own name:
systemd removes a unit's RuntimeDirectory= when that unit stops, and the
running service must not lose its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SERVICE = "checkpoint-scanner.service"
RUNTIME_NAME = "checkpoint-scanner"
SELFTEST_RUNTIME_NAME = "checkpoint-scanner-selftest"
# [Service] keys about how the service starts, is supervised and stops, not about
# what it may see or do: a transient one-shot check has its own.
LIFE_CYCLE = frozenset(
    {
        "Type",
        "NotifyAccess",
        "ExecStart",
        "ExecStartPre",
        "ExecStartPost",
        "ExecCondition",
        "ExecReload",
        "ExecStop",
        "ExecStopPost",
        "PIDFile",
        "Restart",
        "RestartSec",
        "RestartPreventExitStatus",
        "RestartForceExitStatus",
        "SuccessExitStatus",
        "RemainAfterExit",
        "WatchdogSec",
        "TimeoutSec",
        "TimeoutStartSec",
        "TimeoutStopSec",
        "TimeoutAbortSec",
        "RuntimeMaxSec",
        "FileDescriptorStoreMax",
    }
)
# Specifiers of a system unit: systemd expands them in unit files, but not in the
# properties of a transient unit, so they are expanded here.
SPECIFIERS = {
    "t": "/run",
    "S": "/var/lib",
    "C": "/var/cache",
    "L": "/var/log",
    "E": "/etc",
    "%": "%",
}
SANDBOXED_ENV = "CHECKPOINT_SELFTEST_SANDBOXED"


class SandboxError(Exception):
    """The unit's properties could not be read or used."""


def _expand(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in SPECIFIERS:
            raise SandboxError(f"specifier %{key} in {value!r} is not one selftest expands")
        return SPECIFIERS[key]

    return re.sub(r"%(.)", one, value)


def _own_runtime(key: str, value: str) -> str:
    if key == "RuntimeDirectory":
        return " ".join(SELFTEST_RUNTIME_NAME if w == RUNTIME_NAME else w for w in value.split())
    return re.sub(rf"/run/{RUNTIME_NAME}(?=/|\s|$|:)", f"/run/{SELFTEST_RUNTIME_NAME}", value)


def service_properties(unit_text: str) -> list[str]:
    """`Key=value` for every sandbox assignment in the [Service] sections, in order.

    `unit_text` is `systemctl cat`'s output: the unit file, then each drop-in, so
    a drop-in's assignment (or its empty reset) comes after the file's, as
    systemd applies them.
    """
    properties: list[str] = []
    section = None
    logical = ""
    for raw in unit_text.splitlines():
        line = raw.strip()
        if logical:
            line = logical + " " + line
            logical = ""
        if line.endswith("\\"):
            logical = line[:-1].rstrip()
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section != "Service" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key in LIFE_CYCLE:
            continue
        properties.append(f"{key}={_own_runtime(key, _expand(value))}")
    return properties


def available(sysroot: Path) -> bool:
    """Whether this is the booted unit itself, as root, with systemd running it."""
    return (
        sysroot.resolve() == Path("/")
        and os.geteuid() == 0
        and Path("/run/systemd/system").is_dir()
        and shutil.which("systemd-run") is not None
        and os.environ.get(SANDBOXED_ENV) != "1"
    )


def unit_properties() -> list[str]:
    """The installed service's sandbox, from its unit file and drop-ins."""
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["systemctl", "cat", "--no-pager", SERVICE],  # noqa: S607 - systemd's own, on PATH
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise SandboxError(f"systemctl cat {SERVICE}: {done.stderr.strip() or done.returncode}")
    return service_properties(done.stdout)


def unit_name() -> str:
    """This selftest's transient unit."""
    return f"{SELFTEST_RUNTIME_NAME}-{os.getpid()}.service"


def command(properties: Sequence[str], argv: Sequence[str]) -> list[str]:
    """systemd-run of `argv` in a transient service with `properties`, output piped back."""
    return [
        "systemd-run",
        "--quiet",
        "--wait",
        "--pipe",
        "--collect",
        "--service-type=exec",
        f"--unit={unit_name()}",
        f"--description=selftest under the sandbox of {SERVICE}",
        *(f"--property={p}" for p in properties),
        f"--setenv={SANDBOXED_ENV}=1",
        "--",
        *argv,
    ]


def why_failed(unit: str) -> str | None:
    """The line in which systemd says why `unit` failed (e.g. a namespace it could not set up)."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["journalctl", "--no-pager", "--output=cat", "--lines=20", "--unit", unit],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if "Failed" in line and "result" not in line]
    found = failed or lines
    return found[0] if found else None
