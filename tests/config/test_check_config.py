"""check-config refuses what `run` refuses, all at once, with key paths; --print is TOML."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from support.provisioning import init, make_keys

from scanner.cli import dispatch as cli
from scanner.config import check as preflight_module
from scanner.trust import store


@pytest.fixture
def unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A sysroot provisioned by `device init`, as on a unit."""
    k = tmp_path / "K"
    make_keys(capsys, k)
    r = tmp_path / "R"
    assert init(capsys, k, r)[0] == 0
    return r


def _config(r: Path) -> Path:
    return r / "etc/checkpoint-scanner/scanner.toml"


def _edit(r: Path, old: str, new: str) -> None:
    text = _config(r).read_text()
    assert old in text
    _config(r).write_text(text.replace(old, new))


def check(capsys: pytest.CaptureFixture[str], r: Path, *extra: str) -> tuple[int, str, str]:
    code = cli.main(["check-config", "--sysroot", str(r), *extra, str(_config(r))])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_provisioned_unit_is_ok(unit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = check(capsys, unit)
    assert (code, err) == (0, "")
    assert "OK" in out


def test_what_run_refuses_is_refused_all_at_once_with_key_paths(
    unit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(unit, "green_pin = 17", "green_pin = 999")
    _edit(unit, 'broker = "mqtts://broker.example:8883"',
          'broker = "mqtt://broker.lan:1883"\nusername = "u"\n'
          'password_file = "/etc/checkpoint-scanner/mqtt-password"')  # fmt: skip
    (unit / "etc/checkpoint-scanner/root.pub").unlink()
    code, out, err = check(capsys, unit)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert any("lights.green_pin: 999" in line for line in lines)
    assert any("trust.root_pub:" in line for line in lines)
    assert any("mqtt.broker: a password would cross the network in clear" in line for line in lines)
    assert any("mqtt.password_file:" in line for line in lines)
    assert all(line.startswith("error: ") for line in lines)


def test_every_unknown_key_is_reported_once_each(
    unit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(unit, "green_pin = 17", "green_pin = 17\nblue_pin = 5\npurple_pin = 6")
    code, _, err = check(capsys, unit)
    assert code == 2
    assert "lights.blue_pin: unknown key" in err
    assert "lights.purple_pin: unknown key" in err
    assert "lights: lights." not in err


def test_json_reports_the_errors(unit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(unit, "green_pin = 17", "green_pin = 999")
    code, out, _ = check(capsys, unit, "--json")
    assert code == 2
    document = json.loads(out)
    assert document["ok"] is False
    assert any("lights.green_pin" in e for e in document["errors"])


def test_print_is_toml_that_reads_back_as_the_same_configuration(
    unit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = check(capsys, unit, "--print")
    assert code == 0
    printed = tomllib.loads(out)
    assert printed["device"]["checkpoint_id"] == "HN-HBT-01"
    assert printed["lights"]["green_pin"] == 17
    assert printed["policy"]["expired_trust"] == "reject"


def test_the_bundle_file_name_is_the_trust_stores() -> None:
    assert preflight_module.BUNDLE_FILE == store.BUNDLE_FILE


def test_with_sysroot_the_units_own_path_is_read_under_it(
    unit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the README writes it: `check-config --sysroot R /etc/checkpoint-scanner/scanner.toml`."""
    argv = ["check-config", "--sysroot", str(unit), "/etc/checkpoint-scanner/scanner.toml"]
    assert cli.main(argv) == 0
    assert "OK" in capsys.readouterr().out
    assert cli.main(["check-config", "--sysroot", str(unit)]) == 0  # the default file, too
    assert "OK" in capsys.readouterr().out
