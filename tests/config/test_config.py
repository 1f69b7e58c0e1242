"""scanner.toml: a full file parses; unknown keys, wrong types and missing keys are named
by path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config import FULL, MINIMAL, _without_key, refusal, with_line

from scanner.camera.config import ReplayConfig
from scanner.config.load import parse
from scanner.decide.policy import Enforcement
from scanner.lights.signals import LightsConfig

# -- what parses ------------------------------------------------------------------------


def test_full_config_parses_into_typed_sections() -> None:
    config = parse(FULL)
    assert config.device.checkpoint_id == "HN-HBT-01"
    assert config.device.identity_key == Path("/var/lib/checkpoint-scanner/identity/device.key")
    assert config.trust_dir == Path("/var/lib/checkpoint-scanner/trust")
    assert config.policy.untrusted_clock is Enforcement.REJECT
    assert config.camera.reopen_max_s == 20.0
    assert isinstance(config.camera.reopen_max_s, float)
    assert config.camera.picamera2.size == (640, 480)
    assert config.camera.picamera2.max_exposure_us == 8000
    assert config.camera.replay == ReplayConfig(Path("/srv/frames"), 10.0, False, True)
    assert config.camera.synthetic is not None
    assert config.camera.synthetic.texts == ("CP1:ABC", "hello")
    assert config.lights.red_pin == "GPIO27"
    assert config.lights.active_high is False
    assert config.outbox.max_bytes == 256 * 1024 * 1024
    assert config.mqtt is not None
    assert config.mqtt.password_file == Path("/etc/checkpoint-scanner/mqtt.password")
    assert config.mqtt.heartbeat_s == 30.0


def test_minimal_config_takes_the_safe_defaults() -> None:
    config = parse(MINIMAL)
    assert config.mqtt is None
    assert config.camera.source == "picamera2"
    assert config.policy.expired_trust is Enforcement.REJECT
    assert config.lights == LightsConfig(green_pin=17, red_pin=27)
    assert config.lights.pins == "gpio"  # real pins unless the file says mock
    assert config.trust_dir == config.device.state_dir / "trust"


def test_lights_pins_is_gpio_or_mock_and_nothing_else() -> None:
    assert parse(MINIMAL + '[lights]\ngreen_pin = 5\nred_pin = 6\npins = "mock"\n').lights.pins
    message = refusal(MINIMAL + '[lights]\ngreen_pin = 5\nred_pin = 6\npins = "fake"\n')
    assert message == "scanner.toml: lights.pins: must be one of 'gpio', 'mock', got 'fake'"


def test_config_objects_are_frozen() -> None:
    config = parse(MINIMAL)
    with pytest.raises(AttributeError):
        config.device.checkpoint_id = "OTHER"  # type: ignore[misc]


# -- unknown keys -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "line", "path"),
    [
        ("", "verbose = true", "verbose"),
        ("device", "name = 'gate'", "device.name"),
        ("camera", "resolution = 3", "camera.resolution"),
        ("camera.picamera2", "hdr = true", "camera.picamera2.hdr"),
        ("camera.replay", "speed = 2", "camera.replay.speed"),
        ("camera.synthetic", "colour = true", "camera.synthetic.colour"),
        ("lights", "blue_pin = 5", "lights.blue_pin"),
        ("mqtt", "password = 'x'", "mqtt.password"),
        ("policy", "stale = 'warn'", "policy.stale"),
    ],
)
def test_unknown_key_is_refused_naming_its_path(section: str, line: str, path: str) -> None:
    message = refusal(with_line(section, line))
    assert f"scanner.toml: {path}: unknown key" == message


def test_refusal_in_an_optional_table_does_not_echo_the_table() -> None:
    # The whole [mqtt] table in an error would put user names (or a password typed in
    # by mistake) into the journal.
    message = refusal(with_line("mqtt", "password = 'hunter2'"))
    assert "hunter2" not in message
    assert "cp-6b0282b262cbf2ec" not in message


def test_unknown_section_is_refused() -> None:
    assert "uplink: unknown key" in refusal(FULL + "\n[uplink]\nbroker = 'x'\n")


def test_misspelt_key_is_refused_not_ignored() -> None:
    # green_pins instead of green_pin: ignoring it would silently drive GPIO17.
    message = refusal(with_line("lights", "green_pins = 5", MINIMAL + "[lights]\nred_pin = 27\n"))
    assert "lights.green_pins: unknown key" in message


# -- wrong types and values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "line", "path", "says"),
    [
        ("outbox", "max_bytes = '512M'", "outbox.max_bytes", "expected int"),
        ("outbox", "max_bytes = true", "outbox.max_bytes", "expected an integer"),
        ("outbox", "max_bytes = 1.5", "outbox.max_bytes", "expected int"),
        ("camera.picamera2", "camera = '0'", "camera.picamera2.camera", "expected int"),
        ("camera", "reopen_min_s = '1s'", "camera.reopen_min_s", "expected a number"),
        ("camera", "reopen_min_s = false", "camera.reopen_min_s", "expected a number"),
        ("decoder", "budget_ms = [30]", "decoder.budget_ms", "expected a number"),
        ("policy", "stale_trust = 'ignore'", "policy.stale_trust", "must be one of"),
        ("policy", "expired_trust = 1", "policy.expired_trust", "must be one of"),
        ("policy", "revocations_stale_after_s = '2d'", "policy.revocations_stale_after_s", "int"),
        ("camera", "source = 'webcam'", "camera.source", "must be one of"),
        ("lights", "active_high = 'yes'", "lights.active_high", "expected bool"),
        ("lights", "amber_pin = 2.5", "lights.amber_pin", "expected int or str"),
        ("device", "label = 5", "device.label", "expected str"),
        ("trust", "dir = ''", "trust.dir", "path"),
        ("camera.picamera2", "size = 'vga'", "camera.picamera2.size", "expected a list"),
        ("camera.picamera2", "size = [640, '480']", "camera.picamera2.size[1]", "expected int"),
        ("mqtt", "heartbeat_s = {}", "mqtt.heartbeat_s", "expected a number"),
    ],
)
def test_wrong_type_is_refused_naming_its_path(
    section: str, line: str, path: str, says: str
) -> None:
    # Drop the file's own value for the key, inside the section being edited only.
    text = _without_key(FULL, section, line.split(" = ", maxsplit=1)[0])
    message = refusal(with_line(section, line, text))
    assert message.startswith(f"scanner.toml: {path}: ")
    assert says.lower() in message.lower()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_non_finite_number_is_refused_naming_its_key(value: str) -> None:
    text = _without_key(FULL, "lights", "accept_hold_s")
    message = refusal(with_line("lights", f"accept_hold_s = {value}", text))
    assert "lights.accept_hold_s: must be a finite number" in message


@pytest.mark.parametrize(
    ("section", "line", "names"),
    [
        ("device", "checkpoint_id = 'a/b'", "checkpoint_id"),
        ("camera", "reopen_min_s = 0", "reopen_min_s"),
        ("camera", "reopen_max_s = 0.1", "reopen_min_s"),
        ("decoder", "budget_ms = -1", "budget_ms"),
        ("lights", "reject_hold_s = 0", "lights.reject_hold_s"),
        ("lights", "buzzer_pin = 17", "pin"),
        ("camera.picamera2", "fps = 500", "fps"),
    ],
)
def test_out_of_range_value_is_refused_with_its_section(
    section: str, line: str, names: str
) -> None:
    text = _without_key(FULL, section, line.split(" = ", maxsplit=1)[0])
    message = refusal(with_line(section, line, text))
    assert f"scanner.toml: {section}" in message
    assert names in message
    assert f"{section}: {section}." not in message  # the key path once, not twice


def test_replay_source_without_its_table_is_refused() -> None:
    message = refusal(MINIMAL + "[camera]\nsource = 'replay'\n")
    assert "camera: source 'replay' needs a [camera.replay] table" in message


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("[trust]\nroot_pub = '/r'\n", "device: required key missing"),
        ("[device]\ncheckpoint_id = 'X'\n", "trust: required key missing"),
        ("[device]\n[trust]\nroot_pub = '/r'\n", "device.checkpoint_id: required key missing"),
        (MINIMAL + "[mqtt]\ntopic_root = 'x'\n", "mqtt.broker: required key missing"),
        (MINIMAL + "[lights]\ngreen_pin = 5\n", "lights.red_pin: required key missing"),
        (
            MINIMAL + "[camera]\nsource = 'replay'\n[camera.replay]\nfps = 5\n",
            "camera.replay.path: required key missing",
        ),
    ],
)
def test_missing_required_key_is_named(text: str, path: str) -> None:
    assert refusal(text) == f"scanner.toml: {path}"


# Values a component would refuse at start must be refused by check-config already,
# not surface later as a ValueError traceback from `run`.
def test_outbox_bound_below_the_outbox_minimum_is_refused_by_check_config() -> None:
    message = refusal(MINIMAL + "[outbox]\nmax_bytes = 1000\n")
    assert "max_bytes" in message


def test_replay_fps_of_zero_is_refused_by_check_config() -> None:
    message = refusal(
        MINIMAL + "[camera]\nsource = 'replay'\n[camera.replay]\npath = '/f'\nfps = 0\n"
    )
    assert "fps" in message


def test_synthetic_camera_without_texts_is_refused_by_check_config() -> None:
    message = refusal(MINIMAL + "[camera]\nsource = 'synthetic'\n[camera.synthetic]\ntexts = []\n")
    assert "text" in message


def test_a_password_in_the_broker_url_is_refused_without_being_echoed() -> None:
    text = FULL.replace(
        'broker = "mqtts://broker.example:8883"', 'broker = "mqtts://u:hunter2@broker.example:8883"'
    )
    message = refusal(text)
    assert "password_file" in message
    assert "hunter2" not in message


def test_a_malformed_broker_url_is_caught_by_check_config() -> None:
    text = FULL.replace('broker = "mqtts://broker.example:8883"', 'broker = "http://broker"')
    assert "scheme must be mqtt or mqtts" in refusal(text)
