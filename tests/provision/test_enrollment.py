"""enroll-accept and install-credentials, checked against a real Mosquitto with the lines made."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.broker import find_mosquitto
from support.provisioning import (
    AuthBroker,
    Client,
    device_id,
    enrolled,
    init,
    make_keys,
    password,
    run,
    snapshot,
)

from provisioning.mosquitto import password_hash


@pytest.fixture
def k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    keys = tmp_path / "K"
    make_keys(capsys, keys)
    return keys


@pytest.fixture
def mosquitto_binary() -> str:
    found = find_mosquitto()
    if found is None:
        pytest.skip("no mosquitto binary on this machine")
    return found


@pytest.fixture
def two_units(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str], mosquitto_binary: str
) -> Iterator[tuple[AuthBroker, Path, Path]]:
    a = enrolled(capsys, k, tmp_path, "RA")
    b = enrolled(capsys, k, tmp_path, "RB")
    # The central system's own account, appended the same way an operator would.
    with (tmp_path / "passwd").open("a") as f:
        f.write(f"central:{password_hash('central-secret')}\n")
    with (tmp_path / "acl").open("a") as f:
        f.write("\nuser central\ntopic read checkpoint/v1/#\n")
    broker = AuthBroker(tmp_path / "broker", tmp_path / "passwd", tmp_path / "acl")
    broker.start()
    yield broker, a, b
    broker.kill()


def test_a_device_publishes_only_under_its_own_subtree(
    two_units: tuple[AuthBroker, Path, Path],
) -> None:
    broker, a, b = two_units
    central = Client(broker.port, "central", "central-secret")
    central.subscribe("checkpoint/v1/#")
    unit = Client(broker.port, device_id(a), password(a))
    try:
        assert not unit.connack[0].is_failure  # type: ignore[attr-defined]
        own = unit.publish(f"checkpoint/v1/devices/{device_id(a)}/scans")
        other = unit.publish(f"checkpoint/v1/devices/{device_id(b)}/scans")
        shared = unit.publish("checkpoint/v1/trust/bundle")
        assert not own.is_failure  # type: ignore[attr-defined]
        assert other.is_failure  # type: ignore[attr-defined]
        assert shared.is_failure  # type: ignore[attr-defined]
        unit.publish(f"checkpoint/v1/devices/{device_id(a)}/heartbeat")  # a barrier
        threading.Event().wait(0.3)
        assert f"checkpoint/v1/devices/{device_id(a)}/scans" in central.received
        assert f"checkpoint/v1/devices/{device_id(b)}/scans" not in central.received
    finally:
        unit.close()
        central.close()


def test_wrong_password_is_refused_by_the_broker(two_units: tuple[AuthBroker, Path, Path]) -> None:
    broker, a, b = two_units
    unit = Client(broker.port, device_id(a), password(b))
    try:
        assert unit.connack[0].is_failure  # type: ignore[attr-defined]
    finally:
        unit.close()


def test_accepting_appends_and_keeps_existing_lines(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "passwd").write_text("operator:$7$101$AAAA$BBBB\n")
    (tmp_path / "acl").write_text("user operator\ntopic readwrite #\n")
    a = enrolled(capsys, k, tmp_path, "RA")
    passwd = (tmp_path / "passwd").read_text().splitlines()
    acl = (tmp_path / "acl").read_text()
    assert passwd[0] == "operator:$7$101$AAAA$BBBB"
    assert passwd[1].startswith(f"{device_id(a)}:$7$101$")
    assert acl.startswith("user operator\ntopic readwrite #\n")
    assert f"topic write checkpoint/v1/devices/{device_id(a)}/#" in acl


def test_credentials_sealed_to_another_device_change_nothing(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enrolled(capsys, k, tmp_path, "RA")
    b = tmp_path / "RB"
    assert init(capsys, k, b)[0] == 0
    before = snapshot(b)
    code, _, err = run(capsys, "device", "install-credentials", "--sysroot", str(b),
                       str(tmp_path / "RA.sealed"))  # fmt: skip
    assert code == 2
    assert f"sealed to device {device_id(tmp_path / 'RA')}" in err
    assert err.count("\n") == 1
    assert snapshot(b) == before
    # Relabelled in clear to look like B's, it still does not open with B's key.
    sealed = json.loads((tmp_path / "RA.sealed").read_text())
    sealed["device_id"] = device_id(b)
    (tmp_path / "forged.sealed").write_text(json.dumps(sealed))
    code, _, err = run(capsys, "device", "install-credentials", "--sysroot", str(b),
                       str(tmp_path / "forged.sealed"))  # fmt: skip
    assert code == 2
    assert "does not open with the key" in err
    assert snapshot(b) == before


def test_a_tampered_request_is_refused(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    assert init(capsys, k, r)[0] == 0
    request = tmp_path / "enroll.json"
    assert run(capsys, "device", "enroll", "--sysroot", str(r), "--technician", "A",
               "--out", str(request))[0] == 0  # fmt: skip
    document = json.loads(request.read_text())
    document["checkpoint_id"] = "HN-OTHER-99"
    request.write_text(json.dumps(document))
    code, _, err = run(capsys, "enroll-accept", "--ops-key", str(k / "ops.key"),
                       "--request", str(request), "--out", str(tmp_path / "c"),
                       "--mosquitto-passwd", str(tmp_path / "p"),
                       "--mosquitto-acl", str(tmp_path / "a"))  # fmt: skip
    assert code == 2
    assert "signature does not verify" in err
    assert not (tmp_path / "c").exists()
    assert not (tmp_path / "p").exists()


def test_installing_the_same_credentials_twice_changes_nothing(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = enrolled(capsys, k, tmp_path, "RA")
    before = snapshot(a)
    code, out, _ = run(capsys, "device", "install-credentials", "--sysroot", str(a),
                       str(tmp_path / "RA.sealed"), "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out)["changed"] is False
    assert snapshot(a) == before
