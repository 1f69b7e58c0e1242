"""Shared steps of the provisioning tests: central keys, a provisioned unit, a broker with auth."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

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
    """K/ as in the signed-passes issue: root, issuer, revocation, ops keys and bundle v1."""
    for role in ("root", "issuer", "revocation", "ops"):
        assert run(capsys, "keygen", "--role", role, "--out", str(k / role))[0] == 0
    code, _, err = run(
        capsys, "trust-bundle", "--root-key", str(k / "root.key"),
        "--issuer-pub", str(k / "issuer.pub"), "--revocation-pub", str(k / "revocation.pub"),
        "--ops-pub", str(k / "ops.pub"),
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

    def auth_lines(self) -> list[str]:
        return [
            "allow_anonymous false",
            f"password_file {self.passwd}",
            f"acl_file {self.acl_path}",
        ]


def can_mount() -> bool:
    return os.geteuid() == 0


def enrolled(
    capsys: pytest.CaptureFixture[str], k: Path, tmp: Path, name: str, *accept: str
) -> Path:
    """A unit R<name> with init, enroll, enroll-accept (plus `accept`) and install-credentials."""
    r = tmp / name
    assert init(capsys, k, r)[0] == 0
    request, sealed = tmp / f"{name}.json", tmp / f"{name}.sealed"
    assert run(capsys, "device", "enroll", "--sysroot", str(r), "--technician", "Tran Van B",
               "--out", str(request))[0] == 0  # fmt: skip
    code, _, err = run(capsys, "enroll-accept", "--ops-key", str(k / "ops.key"),
                       "--request", str(request), "--out", str(sealed),
                       "--mosquitto-passwd", str(tmp / "passwd"),
                       "--mosquitto-acl", str(tmp / "acl"), *accept)  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, "device", "install-credentials", "--sysroot", str(r), str(sealed))
    assert code == 0, err
    return r


def password(r: Path) -> str:
    return (r / "etc/checkpoint-scanner/mqtt-password").read_text().strip()


class Client:
    """A paho v5 client that reports CONNACK and PUBACK reason codes."""

    def __init__(self, port: int, username: str, secret: str) -> None:
        self.connected = threading.Event()
        self.acked = threading.Event()
        self.connack: list[object] = []
        self.puback: list[object] = []
        self.received: list[str] = []
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{username}", protocol=mqtt.MQTTv5
        )
        self._client.username_pw_set(username, secret)
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish
        self._client.on_message = lambda c, u, m: self.received.append(m.topic)
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        assert self.connected.wait(10)

    def _on_connect(self, c: object, u: object, f: object, reason: object, p: object) -> None:
        self.connack.append(reason)
        self.connected.set()

    def _on_publish(self, c: object, u: object, mid: int, reason: object, p: object) -> None:
        self.puback.append(reason)
        self.acked.set()

    def publish(self, topic: str, payload: bytes = b"x", *, retain: bool = False) -> object:
        self.acked.clear()
        self._client.publish(topic, payload, qos=1, retain=retain)
        assert self.acked.wait(10)
        return self.puback[-1]

    def subscribe(self, topic: str) -> None:
        self._client.subscribe(topic, qos=1)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
