"""selftest on a provisioned unit with mock hardware and a real Mosquitto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero import Device
from support.broker import find_mosquitto
from support.provisioning import AuthBroker, init, make_keys, run

from scanner.errors import LightsUnavailableError
from scanner.lights.gpio import make_pin_factory

FAST = ("--bench-seconds", "1", "--broker-timeout", "3")


@pytest.fixture
def unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Path, AuthBroker]]:
    """A unit with an installed test card, enrolled on a local broker that is running."""
    if find_mosquitto() is None:
        pytest.skip("no mosquitto binary on this machine")
    k = tmp_path / "K"
    make_keys(capsys, k, test_card=True)
    broker = AuthBroker(tmp_path / "broker", tmp_path / "passwd", tmp_path / "acl")
    r = tmp_path / "R"
    # A bench unit: no GPIO here, and only a configuration that says so may use mock pins.
    assert init(capsys, k, r, "--test-card", str(k / "test-card.txt"), "--pins", "mock")[0] == 0
    assert run(capsys, "device", "enroll", "--sysroot", str(r), "--technician", "Tran Van B",
               "--out", str(tmp_path / "enroll.json"))[0] == 0  # fmt: skip
    code, _, err = run(capsys, "enroll-accept", "--ops-key", str(k / "ops.key"),
                       "--request", str(tmp_path / "enroll.json"),
                       "--out", str(tmp_path / "creds.sealed"), "--broker", broker.url,
                       "--mosquitto-passwd", str(tmp_path / "passwd"),
                       "--mosquitto-acl", str(tmp_path / "acl"))  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, "device", "install-credentials", "--sysroot", str(r),
                       str(tmp_path / "creds.sealed"))  # fmt: skip
    assert code == 0, err
    broker.start()
    yield r, broker
    broker.kill()


def report(capsys: pytest.CaptureFixture[str], r: Path) -> tuple[int, dict[str, dict[str, str]]]:
    code, out, _ = run(capsys, "selftest", "--sysroot", str(r), "--json", *FAST)
    document = json.loads(out)
    assert document["ok"] is (code == 0)
    return code, {c["name"]: c for c in document["checks"]}


def test_a_provisioned_unit_passes_with_what_mock_hardware_cannot_test_marked(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    code, checks = report(capsys, r)
    assert code == 0, checks
    assert checks["broker"]["status"] == "pass"
    assert checks["test_card"]["status"] == "pass"
    assert checks["test_card"]["data"]["signal"] == "test_card"  # type: ignore[index]
    assert checks["lights"]["detail"] == "mock pins: not tested"
    assert checks["camera"]["status"] == "skip"
    assert checks["trust"]["data"]["bundle_version"] == 1  # type: ignore[index]
    for name in ("config", "identity", "outbox", "decode_speed"):
        assert checks[name]["status"] == "pass", checks[name]


def test_bench_seconds_0_skips_the_decode_bench_and_says_so(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    code, out, _ = run(capsys, "selftest", "--sysroot", str(r), "--json", "--bench-seconds", "0",
                       "--broker-timeout", "3")  # fmt: skip
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 0, checks
    assert checks["decode_speed"] == {
        "name": "decode_speed",
        "status": "skip",
        "detail": "not measured (--bench-seconds 0)",
    }


def test_the_test_card_is_never_written_to_the_outbox(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    report(capsys, r)
    assert not (r / "var/lib/checkpoint-scanner/outbox.sqlite3").exists()
    assert not (r / "var/lib/checkpoint-scanner/clock-floor").exists()


def test_an_offline_broker_fails_the_unit(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, broker = unit
    broker.kill()
    code, checks = report(capsys, r)
    assert code == 1
    assert checks["broker"]["status"] == "fail"
    assert "unreachable" in checks["broker"]["detail"]


def test_refused_credentials_fail_the_broker_check(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    (r / "etc/checkpoint-scanner/mqtt-password").write_text("not-the-password\n")
    code, checks = report(capsys, r)
    assert code == 1
    assert "broker refused the connection: Not authorized" in checks["broker"]["detail"]


def test_a_corrupt_config_fails_and_every_other_check_is_skipped(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    config = r / "etc/checkpoint-scanner/scanner.toml"
    config.write_text(config.read_text().replace("[device]", "[device"))
    code, checks = report(capsys, r)
    assert code == 1
    assert checks["config"]["status"] == "fail"
    assert str(config) in checks["config"]["detail"]
    assert {c["status"] for n, c in checks.items() if n != "config"} == {"skip"}


def test_a_config_for_another_device_fails_the_identity_check(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    config = r / "etc/checkpoint-scanner/scanner.toml"
    text = config.read_text()
    config.write_text(text.replace('device_id = "cp-', 'device_id = "cp-00', 1))
    _, checks = report(capsys, r)
    assert checks["identity"]["status"] == "fail"
    assert "configuration is for device" in checks["identity"]["detail"]


def test_the_display_shows_the_test_card_screen_as_its_test_pattern(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    r, _ = unit
    tty = tmp_path / "tty1"  # a file stands in for the console the text view writes to
    tty.touch()
    config = r / "etc/checkpoint-scanner/scanner.toml"
    text = config.read_text() + f'\n[display]\nbackend = "console"\ntty = "{tty}"\n'
    config.write_text(text)
    code, checks = report(capsys, r)
    assert checks["display"]["status"] == "pass", checks["display"]
    shown = tty.read_text(encoding="utf-8")
    assert "THẺ KIỂM TRA" in shown  # the test card's own screen, in Vietnamese by default
    assert code == 0, checks


def test_a_unit_without_a_display_skips_the_display_check(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    _, checks = report(capsys, r)
    assert checks["display"]["status"] == "skip"


def test_real_pins_configured_without_a_pin_factory_fail_the_lights_check(
    unit: tuple[Path, AuthBroker],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r, _ = unit
    config = r / "etc/checkpoint-scanner/scanner.toml"
    config.write_text(config.read_text().replace('pins = "mock"', 'pins = "gpio"'))
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    try:
        make_pin_factory("gpio").close()
        pytest.skip("a real pin library works on this machine")
    except LightsUnavailableError:
        pass
    code, checks = report(capsys, r)
    assert code == 1
    assert checks["lights"]["status"] == "fail"
    assert "the service will not start" in checks["lights"]["detail"]
    assert checks["test_card"]["status"] == "pass"  # still verified, on stand-in pins


def test_a_named_test_card_that_cannot_be_read_fails_instead_of_using_the_sample(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    code, out, _ = run(capsys, "selftest", "--sysroot", str(r), "--json",
                       "--test-card", "/nope.txt", *FAST)  # fmt: skip
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1
    assert checks["test_card"]["status"] == "fail"
    assert "/nope.txt" in checks["test_card"]["detail"]


def test_exit_status_is_0_with_warnings_and_skips_and_1_with_strict(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    code, out, _ = run(capsys, "selftest", "--sysroot", str(r), "--json", *FAST)
    document = json.loads(out)
    statuses = {c["status"] for c in document["checks"]}
    assert code == 0
    assert "warn" in statuses  # the clock: not synchronised on this sysroot
    assert "skip" in statuses  # mock pins and no camera module
    assert document["summary"]["fail"] == 0
    assert sum(document["summary"].values()) == len(document["checks"])
    assert run(capsys, "selftest", "--sysroot", str(r), "--strict", *FAST)[0] == 1


def test_the_text_report_ends_with_a_count_of_each_status(
    unit: tuple[Path, AuthBroker], capsys: pytest.CaptureFixture[str]
) -> None:
    r, _ = unit
    code, out, _ = run(capsys, "selftest", "--sysroot", str(r), *FAST)
    assert code == 0
    last = out.splitlines()[-1]
    assert last.startswith("unit OK (")
    assert " fail)" in last


def test_help_defines_every_status_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "selftest", "--help")
    assert code == 0
    for status in ("pass", "warn", "skip", "fail"):
        assert f"\n  {status}  " in out
    assert "exit status: 0" in out
