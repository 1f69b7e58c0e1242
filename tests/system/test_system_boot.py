"""The installed unit boots under real systemd, runs hardened, and drives real GPIO lines."""

from __future__ import annotations

import json
import time

from lab_guest import Guest, lamp_edges
from lab_image import PINS, SCENE_SECONDS

SERVICE_USER_UID = "checkpoint"


def _watch_lamps(guest: Guest):  # type: ignore[no-untyped-def]
    return guest.spawn(
        "python3", "/usr/local/lib/lab/lines.py", *(f"{n}={line}" for n, line in PINS.items())
    )


def test_boot_to_ready_under_its_hardening_and_a_valid_pass_lights_green(guest: Guest) -> None:
    boot_s = guest.boot()
    guest.wait_active()
    ready_s = time.monotonic()
    unit = guest.unit("MainPID", "User", "ProtectSystem", "ProtectProc", "NoNewPrivileges",
                      "CapabilityBoundingSet", "NRestarts")  # fmt: skip
    assert unit["User"] == "checkpoint"
    assert unit["ProtectSystem"] == "strict"
    assert unit["ProtectProc"] == "invisible"
    assert unit["NoNewPrivileges"] == "yes"
    status = guest.run("cat", f"/proc/{unit['MainPID']}/status", check=True).out
    fields = dict(line.split(":", 1) for line in status.splitlines())
    uid = guest.run("id", "-u", "checkpoint", check=True).out.strip()
    assert fields["Uid"].split()[0] == uid  # the daemon itself, not a root wrapper
    assert int(fields["CapEff"].strip(), 16) == 0

    # The lamps, read back from the GPIO chip the unit drives through lgpio.
    lamps = _watch_lamps(guest)
    deadline = time.monotonic() + 3 * SCENE_SECONDS + 30
    while time.monotonic() < deadline:
        if list(lamp_edges(lamps, "green")) and list(lamp_edges(lamps, "red")):
            break
        time.sleep(0.5)
    green, red = list(lamp_edges(lamps, "green")), list(lamp_edges(lamps, "red"))
    journal = guest.run("journalctl", "-b", "-u", "checkpoint-scanner", "--no-pager").out
    assert green, "the valid pass never lit green" + journal[-3000:]
    assert red, "the expired pass never lit red" + journal[-3000:]
    # Never both at once: a verdict is one colour.
    for _, line in lamps.lines:
        values = json.loads(line).get("values", {})
        assert not (values.get("green") and values.get("red")), values

    scans = guest.sql("SELECT body FROM events WHERE kind = 'scan'")
    seen = {(d["pass_id"], d["outcome"], d["reason"]) for d in (json.loads(b) for (b,) in scans)}
    assert ("P-LAB-VALID", "accept", None) in seen, seen
    assert ("P-LAB-OLD", "reject", "expired") in seen, seen
    assert "MockFactory" not in journal
    assert "mock pins" not in journal
    assert guest.unit("NRestarts")["NRestarts"] == "0"
    print(f"\nboot {boot_s:.1f} s to agent; first green {green[0] - ready_s:+.1f} s after active")
