"""Configuration texts the config tests share: a full scanner.toml, a minimal one, and
helpers to add a line to one and to read the refusal of one.
"""

from __future__ import annotations

import pytest

from scanner.config.load import parse
from scanner.errors import ConfigError

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
revocations_stale_after_s = 86400
revocations_gap_grace_s = 300

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


def _without_key(text: str, section: str, key: str) -> str:
    out, current = [], ""
    for row in text.splitlines():
        if row.startswith("["):
            current = row.strip("[]")
        if current == section and row.startswith(f"{key} = "):
            continue
        out.append(row)
    return "\n".join(out) + "\n"
