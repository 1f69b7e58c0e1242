"""`device init|enroll|install-credentials` on a directory standing in for the unit's root."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from support.provisioning import can_mount, device_id, init, make_keys, run, snapshot

from scanner.cli.dispatch import main as scanner_main


@pytest.fixture
def k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    keys = tmp_path / "K"
    make_keys(capsys, keys)
    return keys


def test_issue_commands_in_order(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = tmp_path / "R"
    code, out, err = init(capsys, k, r, "--pins", "mock")  # a bench unit: no GPIO here
    assert code == 0, err
    assert 'pins = "mock"' in (r / "etc/checkpoint-scanner/scanner.toml").read_text()
    summary = json.loads(out)
    assert summary["device_id"].startswith("cp-")
    code, _, err = run(capsys, "device", "enroll", "--sysroot", "R", "--technician", "Tran Van B",
                       "--out", "enroll.json")  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, "enroll-accept", "--ops-key", str(k / "ops.key"),
                       "--request", "enroll.json", "--out", "creds.sealed",
                       "--mosquitto-passwd", "passwd", "--mosquitto-acl", "acl")  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, "device", "install-credentials", "--sysroot", "R", "creds.sealed")
    assert code == 0, err
    code, out, _ = run(capsys, "selftest", "--sysroot", "R", "--json", "--bench-seconds", "1")
    report = json.loads(out)
    names = [c["name"] for c in report["checks"]]
    assert names == ["config", "identity", "lights", "camera", "test_card", "display", "clock",
                     "trust", "broker", "outbox", "decode_speed"]  # fmt: skip
    assert report["device_id"] == summary["device_id"]
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["lights"]["status"] == "skip"
    assert "mock pins" in by_name["lights"]["detail"]
    assert by_name["camera"]["status"] == "skip"
    # broker.example is not a broker: the report says so, and the exit status follows.
    assert by_name["broker"]["status"] == "fail"
    assert code == 1
    assert report["ok"] is False
    config = str(r / "etc/checkpoint-scanner/scanner.toml")
    assert scanner_main(["check-config", "--sysroot", str(r), config]) == 0
    capsys.readouterr()
    key = r / "var/lib/checkpoint-scanner/identity/device.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = key.read_text().split(":", 1)[1].strip()
    for name in ("enroll.json", "creds.sealed", "passwd", "acl"):
        assert secret not in (tmp_path / name).read_text()
    password = (r / "etc/checkpoint-scanner/mqtt-password").read_text().strip()
    assert stat.S_IMODE((r / "etc/checkpoint-scanner/mqtt-password").stat().st_mode) == 0o600
    assert password not in (tmp_path / "creds.sealed").read_text()
    assert password not in (r / "etc/checkpoint-scanner/scanner.toml").read_text()


def test_config_holds_device_paths_not_sysroot_paths(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    assert init(capsys, k, r, "--amber-pin", "22")[0] == 0
    text = (r / "etc/checkpoint-scanner/scanner.toml").read_text()
    assert str(tmp_path) not in text
    assert 'root_pub = "/etc/checkpoint-scanner/root.pub"' in text
    assert 'state_dir = "/var/lib/checkpoint-scanner"' in text
    assert "amber_pin = 22" in text
    assert (r / "etc/checkpoint-scanner/root.pub").read_bytes() == (k / "root.pub").read_bytes()
    assert (r / "var/lib/checkpoint-scanner/trust/bundle.cose").read_bytes() == (
        k / "bundle.cose"
    ).read_bytes()


def test_running_init_twice_changes_nothing(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    first = json.loads(init(capsys, k, r)[1])
    before = snapshot(r)
    code, out, _ = init(capsys, k, r)
    assert code == 0
    assert json.loads(out)["device_id"] == first["device_id"]
    assert json.loads(out)["changed"] is False
    assert snapshot(r) == before


def test_other_arguments_need_force_which_makes_a_new_identity(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    first = json.loads(init(capsys, k, r)[1])["device_id"]
    before = snapshot(r)
    code, _, err = init(capsys, k, r, "--green-pin", "5")
    assert code == 2
    assert "--force" in err
    assert err.count("\n") == 1
    assert snapshot(r) == before
    code, out, _ = init(capsys, k, r, "--green-pin", "5", "--force")
    assert code == 0
    new = json.loads(out)["device_id"]
    assert new != first
    assert device_id(r) == new


def test_key_is_owned_by_the_service_user_of_the_unit(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not can_mount():
        pytest.skip("chown needs root")
    r = tmp_path / "R"
    (r / "etc").mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\ncheckpoint:x:987:986::/:/bin/false\n")
    assert init(capsys, k, r)[0] == 0
    key = r / "var/lib/checkpoint-scanner/identity/device.key"
    assert (key.stat().st_uid, key.stat().st_gid) == (987, 986)
    assert key.parent.stat().st_uid == 987
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert (r / "etc/checkpoint-scanner/scanner.toml").stat().st_uid == 0


def test_bundle_signed_by_an_unpinned_root_leaves_the_unit_as_it_was(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    make_keys(capsys, other)
    r = tmp_path / "R"
    code, _, err = run(capsys, "device", "init", "--sysroot", str(r), "--checkpoint-id", "X",
                       "--broker", "mqtt://127.0.0.1:1", "--root-pub", str(k / "root.pub"),
                       "--bundle", str(other / "bundle.cose"))  # fmt: skip
    assert code == 2
    assert "not signed by the pinned root" in err
    assert err.count("\n") == 1
    assert not r.exists()


def test_full_disk_during_init_leaves_the_unit_as_it_was(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    r.mkdir()
    if not can_mount():
        pytest.skip("mounting a tiny tmpfs needs root")
    # Two pages: the key and root.pub fit, the bundle does not.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(r)], check=True)
    try:
        before = snapshot(r)
        code, _, err = init(capsys, k, r)
        assert code == 2
        assert "No space left on device" in err
        assert "nothing was changed" in err
        assert err.count("\n") == 1
        assert snapshot(r) == before == {}
    finally:
        subprocess.run(["umount", str(r)], check=True)


def test_corrupt_or_truncated_config_is_named_and_nothing_changes(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    assert init(capsys, k, r)[0] == 0
    config = r / "etc/checkpoint-scanner/scanner.toml"
    config.write_bytes(config.read_bytes()[:40])
    before = snapshot(r)
    code, _, err = run(capsys, "device", "enroll", "--sysroot", str(r), "--technician", "T",
                       "--out", str(tmp_path / "e.json"))  # fmt: skip
    assert code == 2
    assert str(config) in err
    assert err.count("\n") == 1
    assert not (tmp_path / "e.json").exists()
    assert snapshot(r) == before
    assert scanner_main(["check-config", str(config)]) == 2


def test_config_for_another_device_is_refused(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r, other = tmp_path / "R", tmp_path / "R2"
    assert init(capsys, k, r)[0] == 0
    assert init(capsys, k, other)[0] == 0
    config = r / "etc/checkpoint-scanner/scanner.toml"
    config.write_bytes((other / "etc/checkpoint-scanner/scanner.toml").read_bytes())
    code, _, err = run(capsys, "device", "enroll", "--sysroot", str(r), "--technician", "T")
    assert code == 2
    assert f"configuration is for device {device_id(other)}" in err
    assert err.count("\n") == 1


def test_enroll_reads_the_pi_hardware_and_shows_a_readable_qr(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    assert init(capsys, k, r)[0] == 0
    tree = r / "proc/device-tree"
    tree.mkdir(parents=True)
    (tree / "serial-number").write_bytes(b"10000000abcdef01\x00")
    (tree / "model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.5\x00")
    code, out, err = run(capsys, "device", "enroll", "--sysroot", str(r), "--technician",
                         "Tran Van B", "--qr", "--png", str(tmp_path / "e.png"))  # fmt: skip
    assert code == 0, err
    document_line, *qr_lines = out.splitlines()
    request = json.loads(document_line)
    assert request["hardware"] == {
        "serial": "10000000abcdef01",
        "model": "Raspberry Pi 4 Model B Rev 1.5",
    }
    assert request["technician"] == "Tran Van B"
    assert request["device_id"] == device_id(r)
    # Text blocks back to pixels (a light glyph half is a light module): zxing reads it.
    halves = {"\u2588": (255, 255), "\u2580": (255, 0), "\u2584": (0, 255), " ": (0, 0)}
    rows = [[halves[ch] for ch in line] for line in qr_lines]
    image = np.array([[cell[i] for cell in row] for row in rows for i in (0, 1)], dtype=np.uint8)
    big = np.kron(image, np.ones((4, 4), dtype=np.uint8))
    decoded = zxingcpp.read_barcodes(big, formats=zxingcpp.BarcodeFormat.QRCode)
    assert decoded
    assert json.loads(decoded[0].text) == request
    assert (tmp_path / "e.png").stat().st_size > 0
