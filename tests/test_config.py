"""scanner.toml: a full file parses; unknown keys, wrong types and missing keys are named by path.

Also `checkpoint-scanner check-config` through scanner.cli.main, unusable files
(truncated, binary, huge), and a property: whatever TOML comes in, parse()
returns a Config or raises ConfigError, never anything else.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import cli
from scanner.camera.replay import ReplayConfig
from scanner.config import MAX_CONFIG_BYTES, Config, load, parse
from scanner.lights.signals import LightsConfig
from scanner.settings import ConfigError
from scanner.verify import Enforcement

FULL = """\
# Every section and most keys, as a technician might write them.
[device]
checkpoint_id = "HN-HBT-01"
label = "Hai Ba Trung gate 1"
device_id = "cp-6b0282b262cbf2ec"
state_dir = "/var/lib/checkpoint-scanner"
key_file = "/var/lib/checkpoint-scanner/identity/device.key"

[trust]
root_pub = "/etc/checkpoint-scanner/root.pub"
dir = "/var/lib/checkpoint-scanner/trust"
sync_flag = "/run/systemd/timesync/synchronized"

[policy]
stale_trust = "warn"
expired_trust = "reject"
untrusted_clock = "reject"

[camera]
source = "picamera2"
reopen_min_s = 0.5
reopen_max_s = 20

[camera.picamera2]
camera = 0
size = [640, 480]
main_size = [1280, 720]
fps = 15.0
focus = "fixed"
lens_position = 4.5
af_range = "macro"
exposure_mode = "short"
max_exposure_us = 8000

[camera.opencv]
target = "0"
size = [640, 480]
fps = 30

[camera.replay]
path = "/srv/frames"
fps = 10
realtime = false
loop = true

[camera.synthetic]
texts = ["CP1:ABC", "hello"]
size = [320, 240]
present_frames = 12

[decoder]
budget_ms = 20
debounce_gap_s = 1.5

[lights]
green_pin = 17
red_pin = "GPIO27"
amber_pin = 22
buzzer_pin = 18
active_high = false
accept_hold_s = 2.5
long_beep_s = 0.5

[outbox]
max_bytes = 268435456

[mqtt]
broker = "mqtts://broker.example:8883"
topic_root = "checkpoint/v1"
username = "cp-6b0282b262cbf2ec"
password_file = "/etc/checkpoint-scanner/mqtt.password"
ca_file = "/etc/checkpoint-scanner/ca.pem"
heartbeat_s = 30
batch_max_events = 200
batch_max_bytes = 32768
"""

MINIMAL = """\
[device]
checkpoint_id = "CP-1"

[trust]
root_pub = "/etc/checkpoint-scanner/root.pub"
"""


def with_line(section: str, line: str, base: str = FULL) -> str:
    """`base` with `line` added at the top of `[section]` (or at the top of the file)."""
    if not section:
        return f"{line}\n{base}"
    header = f"[{section}]\n"
    assert header in base, section
    return base.replace(header, f"{header}{line}\n", 1)


def refusal(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, "scanner.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("scanner.toml: ")
    return message


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
    assert config.trust_dir == config.device.state_dir / "trust"


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


def _without_key(text: str, section: str, key: str) -> str:
    out, current = [], ""
    for row in text.splitlines():
        if row.startswith("["):
            current = row.strip("[]")
        if current == section and row.startswith(f"{key} = "):
            continue
        out.append(row)
    return "\n".join(out) + "\n"


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
    assert f"scanner.toml: {section}: " in message
    assert names in message


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


# -- files that are not configurations ----------------------------------------------------


def test_truncated_file_is_refused_as_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(FULL[: FULL.index('checkpoint_id = "HN') + 20])
    with pytest.raises(ConfigError, match=r"scanner\.toml: not valid TOML"):
        load(path)


def test_binary_file_is_refused_as_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "scanner.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(ConfigError, match=r"scanner\.toml: not UTF-8 text"):
        load(path)


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(MINIMAL + "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))
    with pytest.raises(ConfigError, match="is not a configuration file"):
        load(path)


def test_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothing\.toml: cannot read"):
        load(tmp_path / "nothing.toml")


def test_directory_instead_of_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path)


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a=" * 3000 + "1" + "}" * 3000])
def test_deeply_nested_file_is_refused_as_a_config_error(nested: str) -> None:
    with pytest.raises(ConfigError):
        parse(MINIMAL + f"x = {nested}\n")


def test_integer_too_large_for_a_float_setting_is_refused_naming_its_path() -> None:
    text = with_line(
        "camera", "reopen_min_s = 1" + "0" * 400, _without_key(FULL, "camera", "reopen_min_s")
    )
    assert "camera.reopen_min_s" in refusal(text)


# -- check-config ---------------------------------------------------------------------------


def test_check_config_accepts_a_good_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(FULL)
    assert cli.main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "OK" in out
    assert "HN-HBT-01" in out


def test_check_config_json_prints_the_effective_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(MINIMAL)
    assert cli.main(["check-config", "--json", str(path)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    assert document["config"]["policy"]["expired_trust"] == "reject"
    assert document["config"]["lights"]["green_pin"] == 17


@pytest.mark.parametrize(
    "content",
    [
        with_line("lights", "blue_pin = 5").encode(),
        b"[device\ncheckpoint_id =",
        b"\xff\xfe\x00binary",
        (MINIMAL + "#" * MAX_CONFIG_BYTES).encode(),
    ],
    ids=["unknown-key", "truncated", "binary", "huge"],
)
def test_check_config_refuses_a_bad_file_with_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "scanner.toml"
    path.write_bytes(content)
    assert cli.main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {path}: ")


def test_check_config_on_a_missing_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check-config", str(tmp_path / "absent.toml")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "absent.toml: cannot read" in err


# -- anything at all ------------------------------------------------------------------------

# The real key names, so that generated documents reach the typed conversion.
SECTIONS: dict[str, list[str]] = {
    "device": ["checkpoint_id", "label", "device_id", "state_dir", "key_file"],
    "trust": ["root_pub", "dir", "sync_flag"],
    "policy": ["stale_trust", "expired_trust", "untrusted_clock"],
    "camera": ["source", "reopen_min_s", "reopen_max_s", "picamera2", "opencv", "replay"],
    "decoder": ["budget_ms", "debounce_gap_s"],
    "lights": ["green_pin", "red_pin", "amber_pin", "buzzer_pin", "active_high", "accept_hold_s"],
    "outbox": ["max_bytes"],
    "mqtt": ["broker", "topic_root", "heartbeat_s", "batch_max_events", "password_file"],
}
ALL_KEYS = sorted({k for keys in SECTIONS.values() for k in keys} | set(SECTIONS))

toml_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x7f"),
    max_size=12,
)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    toml_text,
    st.sampled_from(["warn", "reject", "replay", "synthetic", "picamera2", "/tmp/x", "0"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(ALL_KEYS), toml_text), inner, max_size=4),
    ),
    max_leaves=12,
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    items = (f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(items) + "}"


def to_toml(document: dict[str, Any]) -> str:
    return "".join(
        f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}\n" for k, v in document.items()
    )


def _valid_document() -> dict[str, Any]:
    return tomllib.loads(FULL)


@st.composite
def edited_configs(draw: st.DrawFn) -> dict[str, Any]:
    """The full valid config with a few keys replaced, added or removed anywhere."""
    document = _valid_document()
    for _ in range(draw(st.integers(1, 4))):
        table: dict[str, Any] = document
        while True:
            tables = [k for k, v in table.items() if isinstance(v, dict)]
            if not tables or draw(st.booleans()):
                break
            table = table[draw(st.sampled_from(sorted(tables)))]
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if action == "delete" and table:
            del table[draw(st.sampled_from(sorted(table)))]
        elif action == "set" and table:
            table[draw(st.sampled_from(sorted(table)))] = draw(values)
        else:
            table[draw(st.one_of(st.sampled_from(ALL_KEYS), toml_text))] = draw(values)
    return document


def _parses_or_config_error(text: str) -> None:
    outcome: Config | ConfigError
    try:
        outcome = parse(text)
    except ConfigError as exc:
        outcome = exc
    assert isinstance(outcome, Config) or str(outcome).startswith("config: ")


@settings(max_examples=400, deadline=None)
@given(document=edited_configs())
def test_edited_config_gives_a_config_or_a_config_error(document: dict[str, Any]) -> None:
    text = to_toml(document)
    tomllib.loads(text)  # the generator writes real TOML
    _parses_or_config_error(text)


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(st.one_of(st.sampled_from(ALL_KEYS), toml_text), values, max_size=6)
)
def test_random_toml_document_gives_a_config_or_a_config_error(document: dict[str, Any]) -> None:
    text = to_toml(document)
    tomllib.loads(text)
    _parses_or_config_error(text)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_give_a_config_error(data: bytes) -> None:
    _parses_or_config_error(data.decode("utf-8", errors="replace"))


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
