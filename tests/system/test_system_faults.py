"""Faults under real systemd: a stuck daemon meets the watchdog; no pins is a loud failure."""

from __future__ import annotations

import re
import time

from lab_guest import Guest, GuestError

NO_PIN_FACTORY = r"checkpoint-scanner\[\d+\]: error: lights: no GPIO pin factory works \("


def test_a_daemon_stuck_in_a_read_is_restarted_by_the_watchdog(guest: Guest) -> None:
    guest.boot()
    guest.wait_active()
    stuck = guest.unit("MainPID")["MainPID"]
    # SIGSTOP: the process is alive but no thread runs, as in a read stuck in a driver.
    guest.run("kill", "-STOP", stuck, check=True)
    stopped = time.monotonic()
    guest.wait_for(r"checkpoint-scanner\.service: Watchdog timeout \(limit 10s\)!", timeout=60)
    detected = time.monotonic() - stopped
    guest.wait_for(r"checkpoint-scanner\.service: Failed with result 'watchdog'", timeout=30)
    deadline = time.monotonic() + 120
    while True:
        unit = guest.unit("ActiveState", "MainPID", "NRestarts")
        if unit["ActiveState"] == "active" and unit["MainPID"] not in ("0", stuck):
            break
        if time.monotonic() > deadline:
            raise GuestError(f"not restarted: {unit}" + guest.journal_tail())
        time.sleep(1)
    assert unit["NRestarts"] == "1"
    print(f"\nwatchdog fired {detected:.1f} s after SIGSTOP (WatchdogSec=10s)")


def test_without_a_pin_factory_the_unit_refuses_to_start_then_reboots_at_the_limit(
    guest: Guest,
) -> None:
    # No GPIO chip at all: what a Pi would look like if lgpio could not open one.
    guest.boot("lab.gpio=off")
    started = time.monotonic()
    rc = guest.wait_exit(timeout=1200)  # StartLimitAction=reboot ends QEMU under -no-reboot
    took = time.monotonic() - started
    console = guest.console_text()
    refusals = re.findall(NO_PIN_FACTORY + r"([^\r\n]*)", console)
    assert len(refusals) == 5, console[-4000:]  # StartLimitBurst=5, each one clear line
    assert "Start request repeated too quickly" in console
    assert re.search(r"[Rr]eboot", console[console.index("repeated too quickly") :])
    assert not re.search(r"device cp-[0-9a-f]+ ready", console)  # never READY, never scanning
    assert "MockFactory" not in console
    assert rc == 0
    print(f"\nfive refusals and the reboot in {took:.0f} s; the line: {refusals[0][:160]}")
