"""The configuration reference (docs/configuration.md), generated from the config dataclasses.

Types and defaults come from the dataclasses themselves; the meaning of each key
is kept here, beside them, and a test fails when a key has none or when the
document differs from what this module writes: the reference cannot drift.
Regenerate with: python -m scanner.config.reference > docs/configuration.md
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scanner.config.load import Config

MEANINGS = {
    "device.checkpoint_id": "the checkpoint this unit serves (1-64 characters, no '/')",
    "device.label": "where the unit stands, for people: shown on the display and in status",
    "device.device_id": "when set, must match the identity key (catches a card moved elsewhere)",
    "device.state_dir": "outbox, trust data, identity and clock floor (the state partition)",
    "device.key_file": "the device's private key (default: STATE_DIR/identity/device.key)",
    "trust.root_pub": "the pinned root public key every trust bundle must be signed by",
    "trust.dir": "where bundle and revocation updates are kept (default: STATE_DIR/trust)",
    "trust.sync_flag": "present when NTP has synchronised the clock (systemd-timesyncd)",
    "policy.stale_trust": "a pass checked against a stale bundle: warn (accept, amber) or reject",
    "policy.expired_trust": "a pass checked against an expired bundle: reject (closed) or warn",
    "policy.schema_invalid": "an EU DCC whose payload breaks the EU JSON schema: warn or reject",
    "policy.untrusted_clock": "a pass checked on an unsynchronised clock: warn or reject",
    "policy.revocations_stale_after_s": "revocation data with no update for this long is stale",
    "policy.revocations_gap_grace_s": "a missing revocation update this long makes it gapped",
    "camera.source": "which frame source runs",
    "camera.reopen_min_s": "first wait before reopening a failed camera",
    "camera.reopen_max_s": "longest wait between reopen attempts (the wait doubles up to this)",
    "camera.stall_s": "an open camera with no frame for this long has failed",
    "camera.picamera2.camera": "which Pi camera (0 for the first)",
    "camera.picamera2.size": "the low-resolution stream decoded, [width, height]",
    "camera.picamera2.main_size": "the main stream (the ISP needs one at least as big as size)",
    "camera.picamera2.fps": "frames a second",
    "camera.picamera2.focus": "auto (continuous autofocus) or fixed (lens_position)",
    "camera.picamera2.lens_position": "fixed focus in dioptres (5.0 is about 20 cm)",
    "camera.picamera2.af_range": "autofocus range (macro: a pass is shown at 10-40 cm)",
    "camera.picamera2.exposure_mode": "auto-exposure mode (short: a moving hand blurs less)",
    "camera.picamera2.max_exposure_us": "a hard cap on exposure (none: the frame duration caps it)",
    "camera.opencv.target": "a device index, a video file or a stream URL",
    "camera.opencv.size": "requested frame size, [width, height]",
    "camera.opencv.fps": "requested frame rate (none: the device's own)",
    "camera.replay.path": "a folder of images or a video",
    "camera.replay.fps": "frames a second",
    "camera.replay.realtime": "pace frames at fps (false: as fast as they decode)",
    "camera.replay.loop": "start again at the end",
    "camera.synthetic.texts": "the QR texts presented in turn",
    "camera.synthetic.size": "frame size, [width, height]",
    "camera.synthetic.fps": "frames a second",
    "camera.synthetic.present_frames": "frames each code is in view",
    "camera.synthetic.gap_frames": "empty frames between codes",
    "camera.synthetic.dark_mode": "light modules on dark, as some phone screens show them",
    "camera.synthetic.glare": "add a glare patch, as on a phone screen",
    "camera.synthetic.seed": "which deterministic scene",
    "camera.synthetic.realtime": "pace frames at fps",
    "camera.synthetic.loop": "start again at the end",
    "decoder.budget_ms": "extra decode effort a frame beyond the plain zxing-cpp call",
    "decoder.debounce_gap_s": "a pass must leave view this long to count again",
    "lights.green_pin": "GPIO (BCM number or gpiozero pin name) of the green lamp",
    "lights.red_pin": "GPIO of the red lamp",
    "lights.amber_pin": "GPIO of an amber lamp (none: degraded is shown on green and red)",
    "lights.buzzer_pin": "GPIO of a buzzer (none: silent)",
    "lights.pins": "gpio: real pins (no pin factory: the unit refuses to start); mock: demo, tests",
    "lights.active_high": "lamps switch on high (false for relay boards that switch on low)",
    "lights.buzzer_active_high": "the buzzer sounds on high",
    "lights.accept_hold_s": "how long green stays on",
    "lights.reject_hold_s": "how long red flashes",
    "lights.test_card_hold_s": "how long the test card pattern plays",
    "lights.identify_s": "how long the identify command blinks the lamps",
    "lights.short_beep_s": "the accept beep",
    "lights.long_beep_s": "the reject beep",
    "outbox.max_bytes": "bound of the event store; telemetry is shed first when it fills",
    "outbox.telemetry_every_s": "a durable health record this often (0: none)",
    "mqtt.broker": "mqtt[s]://host[:port] (no password in the URL: use password_file)",
    "mqtt.topic_root": "prefix of every topic",
    "mqtt.username": "broker user (install-credentials sets it)",
    "mqtt.password_file": "file holding the broker password, mode 0600",
    "mqtt.ca_file": "CA certificate for mqtts:// (none: the system's CAs)",
    "mqtt.cert_file": "client certificate for mutual TLS (with key_file)",
    "mqtt.key_file": "client key for mutual TLS",
    "mqtt.heartbeat_s": "seconds between heartbeats",
    "mqtt.batch_max_events": "events a scan batch carries at most",
    "mqtt.batch_max_bytes": "bytes a scan batch carries at most",
    "mqtt.allow_plaintext_credentials": "allow a password over mqtt:// to another host",
    "mqtt.discovery": "homeassistant: announce the unit to Home Assistant (docs/mqtt.md 9)",
    "mqtt.discovery_prefix": "Home Assistant's discovery prefix (its own default: homeassistant)",
    "display.backend": "none, console (HDMI/tty) or oled (I2C)",
    "display.language": "vi or en",
    "display.clear_after_s": "a verdict's screen clears after this long",
    "display.utc_offset_min": "local time for dates shown, minutes east of UTC (Vietnam: 420)",
    "display.console_output": "text on the tty, or pixels on the framebuffer",
    "display.tty": "the console's terminal",
    "display.framebuffer": "the console's framebuffer",
    "display.oled_driver": "the OLED controller",
    "display.oled_width": "OLED width in pixels",
    "display.oled_height": "OLED height in pixels",
    "display.oled_rotate": "OLED rotation, in quarter turns",
    "display.i2c_port": "I2C bus of the OLED",
    "display.i2c_address": "I2C address of the OLED (60 is 0x3C)",
    "display.slow_draw_ms": "a draw slower than this is reported as a display fault",
}


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return " / ".join(f'"{a}"' for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(
            "none" if a is type(None) else _type_name(a) for a in typing.get_args(tp)
        )
    if origin is tuple:
        args = typing.get_args(tp)
        return (
            f"list of {_type_name(args[0])}"
            if args[-1] is Ellipsis
            else "[" + ", ".join(_type_name(a) for a in args) + "]"
        )
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " / ".join(f'"{m.value}"' for m in tp)
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _default(field: dataclasses.Field[Any], table: Any) -> str:
    if table is not None:  # the table's own default instance, e.g. [lights] pins 17 and 27
        value = getattr(table, field.name)
    elif field.default is dataclasses.MISSING:
        return "required" if field.default_factory is dataclasses.MISSING else ""
    else:
        value = field.default
    if value is None:
        return "none"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def config_keys(
    cls: Any = Config, prefix: str = "", table: Any = None
) -> Iterator[tuple[str, str, str]]:
    """(key path, type, default) of every key, in the order of the dataclasses."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        tp = hints[field.name]
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = options[0] if len(options) == 1 else tp
        if dataclasses.is_dataclass(inner):
            made = field.default_factory  # a table that may be left out has a default instance
            instance = made() if made is not dataclasses.MISSING else None
            yield from config_keys(inner, f"{prefix}{field.name}.", instance)
        else:
            yield f"{prefix}{field.name}", _type_name(tp), _default(field, table)


def markdown() -> str:
    """docs/configuration.md."""
    out = [
        "# Configuration reference (`scanner.toml`)",
        "",
        "Generated from the configuration dataclasses by `python -m scanner.config.reference`;",
        "a test fails when this file and the code differ. Check a file with",
        "`checkpoint-scanner check-config FILE` (`--print` shows every key with its value).",
        "A table whose keys are all optional may be left out.",
    ]
    section = None
    for key, type_name, default in config_keys():
        table = key.rsplit(".", 1)[0]
        if table != section:
            section = table
            out += [
                "",
                f"## [{table}]",
                "",
                "| key | type | default | meaning |",
                "|---|---|---|---|",
            ]
        name = key.rsplit(".", 1)[1]
        out.append(f"| `{name}` | {type_name} | {default or '-'} | {MEANINGS.get(key, '')} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
