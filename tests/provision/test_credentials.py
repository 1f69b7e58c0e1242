"""install-credentials takes only files signed by the bundle's ops key, newest first."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from nacl.public import SealedBox
from nacl.signing import SigningKey
from support.provisioning import device_id, enrolled, init, make_keys, run, snapshot

from provisioning.sealed import Credentials, seal
from scanner.trust.keys import load_private_key


@pytest.fixture
def k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    keys = tmp_path / "K"
    make_keys(capsys, keys)
    return keys


def install(capsys: pytest.CaptureFixture[str], r: Path, file: Path) -> tuple[int, str]:
    code, _, err = run(capsys, "device", "install-credentials", "--sysroot", str(r), str(file))
    return code, err


def _device_public(r: Path):  # type: ignore[no-untyped-def]
    key = load_private_key(r / "var/lib/checkpoint-scanner/identity/device.key")
    return key.verify_key


def test_credentials_signed_by_another_key_are_refused_and_change_nothing(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    assert init(capsys, k, r)[0] == 0
    before = snapshot(r)
    # Anyone who knows the unit's public key can seal a box to it; only the ops key signs.
    forger = SigningKey.generate()
    forged = Credentials(device_id(r), device_id(r), "attacker-password", "mqtt://evil.test")
    (tmp_path / "forged.sealed").write_bytes(seal(_device_public(r), forger, forged))
    code, err = install(capsys, r, tmp_path / "forged.sealed")
    assert code == 2
    assert "not signed by the ops key" in err
    assert err.count("\n") == 1
    assert snapshot(r) == before


def test_altered_credentials_do_not_open(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = enrolled(capsys, k, tmp_path, "RA")
    before = snapshot(a)
    document = json.loads((tmp_path / "RA.sealed").read_text())
    box = bytearray(base64.b64decode(document["sealed"]))
    box[len(box) // 2] ^= 0x01
    document["sealed"] = base64.b64encode(bytes(box)).decode()
    (tmp_path / "altered.sealed").write_text(json.dumps(document))
    code, err = install(capsys, a, tmp_path / "altered.sealed")
    assert code == 2
    assert "does not open" in err
    assert snapshot(a) == before


def test_a_signed_body_resealed_for_another_unit_is_refused(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Even with the ops key's signature, the signed device ID must be this unit's.
    b = tmp_path / "RB"
    assert init(capsys, k, b)[0] == 0
    before = snapshot(b)
    ops = load_private_key(k / "ops.key")
    other = Credentials("cp-0000000000000000", "cp-0000000000000000", "pw")
    sealed = json.loads(seal(_device_public(b), ops, other))
    sealed["device_id"] = device_id(b)
    (tmp_path / "moved.sealed").write_text(json.dumps(sealed))
    code, err = install(capsys, b, tmp_path / "moved.sealed")
    assert code == 2
    assert f"not for device {device_id(b)}" in err
    assert snapshot(b) == before


def test_unsigned_version_1_credentials_are_refused_with_the_reason(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = tmp_path / "R"
    assert init(capsys, k, r)[0] == 0
    before = snapshot(r)
    inner = json.dumps({"type": "checkpoint-credentials", "version": 1}).encode()
    box = SealedBox(_device_public(r).to_curve25519_public_key()).encrypt(inner)
    outer = {
        "type": "checkpoint-sealed-credentials",
        "version": 1,
        "device_id": device_id(r),
        "sealed": base64.b64encode(box).decode(),
    }
    (tmp_path / "v1.sealed").write_text(json.dumps(outer))
    code, err = install(capsys, r, tmp_path / "v1.sealed")
    assert code == 2
    assert "not signed by the centre" in err
    assert snapshot(r) == before


def test_replayed_older_credentials_are_refused_after_newer_ones(
    tmp_path: Path, k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = enrolled(capsys, k, tmp_path, "RA")
    first = tmp_path / "first.sealed"
    (tmp_path / "RA.sealed").rename(first)
    # Re-enrolled: a new password, a newer serial; installed over the first.
    code, _, err = run(capsys, "enroll-accept", "--ops-key", str(k / "ops.key"),
                       "--request", str(tmp_path / "RA.json"),
                       "--out", str(tmp_path / "new.sealed"),
                       "--mosquitto-passwd", str(tmp_path / "passwd"),
                       "--mosquitto-acl", str(tmp_path / "acl"))  # fmt: skip
    assert code == 0, err
    assert install(capsys, a, tmp_path / "new.sealed")[0] == 0
    current = snapshot(a)
    code, err = install(capsys, a, first)
    assert code == 2
    assert "older than the credentials installed" in err
    assert snapshot(a) == current
    # The newest file again is not a replay: it changes nothing and succeeds.
    assert install(capsys, a, tmp_path / "new.sealed")[0] == 0
    assert snapshot(a) == current
