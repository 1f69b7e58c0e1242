"""Shared steps of the provisioning tests: central keys, a provisioned unit, a broker with auth."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

import pytest

from provisioning.cli import main as provision
from support.broker import Broker

ISSUE_INIT = [
    "--checkpoint-id", "HN-HBT-01", "--label", "Hai Ba Trung gate 1",
    "--broker", "mqtts://broker.example:8883",
]  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """One `checkpoint-provision` call; returns its exit status, stdout and stderr."""
    code = provision(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def make_keys(capsys: pytest.CaptureFixture[str], k: Path, test_card: bool = False) -> None:
    """K/ as in the signed-passes issue: root, issuer, revocation keys and bundle v1."""
    for role in ("root", "issuer", "revocation"):
        assert run(capsys, "keygen", "--role", role, "--out", str(k / role))[0] == 0
    code, _, err = run(
        capsys, "trust-bundle", "--root-key", str(k / "root.key"),
        "--issuer-pub", str(k / "issuer.pub"), "--revocation-pub", str(k / "revocation.pub"),
        "--version", "1", "--expires", "2030-01-01T00:00:00Z", "--out", str(k / "bundle.cose"),
    )  # fmt: skip
    assert code == 0, err
    if test_card:
        code, _, err = run(
            capsys, "issue", "--issuer-key", str(k / "issuer.key"), "--pass-id", "T-0001",
            "--holder", "TEST CARD", "--kind", "test", "--not-before", "2020-01-01T00:00:00Z",
            "--not-after", "2029-12-31T00:00:00Z", "--out", str(k / "test-card"),
        )  # fmt: skip
        assert code == 0, err


def init(capsys: pytest.CaptureFixture[str], k: Path, r: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys, "device", "init", "--sysroot", str(r), *ISSUE_INIT,
        "--root-pub", str(k / "root.pub"), "--bundle", str(k / "bundle.cose"), "--json", *extra,
    )  # fmt: skip


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int, int]]:
    """Every path under `root` with its bytes, mode and mtime: "unchanged" means equal."""
    out: dict[str, tuple[bytes | None, int, int]] = {}
    for path in sorted(root.rglob("*")) if root.exists() else []:
        st = path.lstat()
        data = path.read_bytes() if path.is_file() else None
        out[str(path.relative_to(root))] = (data, st.st_mode, st.st_mtime_ns)
    return out


def device_id(r: Path) -> str:
    text = (r / "etc/checkpoint-scanner/scanner.toml").read_text()
    line = next(x for x in text.splitlines() if x.startswith("device_id"))
    return str(json.loads(line.split("=", 1)[1]))


class AuthBroker(Broker):
    """Mosquitto with a password file and ACL, no anonymous clients: the central broker."""

    def __init__(self, workdir: Path, passwd: Path, acl: Path) -> None:
        super().__init__(workdir)
        self.passwd = passwd
        self.acl_path = acl

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {self.passwd}",
            f"acl_file {self.acl_path}",
            # Started as root, mosquitto drops to user "mosquitto" and could not read the files.
            f"user {getpass.getuser()}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        self.config_path.write_text("\n".join(lines) + "\n")


def can_mount() -> bool:
    return os.geteuid() == 0
