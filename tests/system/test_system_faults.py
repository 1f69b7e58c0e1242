"""A unit without a pin factory under real systemd: one clear line per start, then the reboot."""

from __future__ import annotations

import re
import sys
import time

from lab_guest import Guest

NO_PIN_FACTORY = r"checkpoint-scanner\[\d+\]: error: lights: no GPIO pin factory works \("


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
    sys.stdout.write(
        f"\nfive refusals and the reboot in {took:.0f} s; the line: {refusals[0][:160]}\n"
    )
