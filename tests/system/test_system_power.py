"""Power cuts (kill -9 of QEMU) at random moments while the unit decides; five rounds.

After each reboot: every decision whose light was seen on the GPIO lines is in
the outbox, the outbox passes integrity_check, the trust bundle, revocations
and identity are byte-for-byte intact, the clock floor never went back, and
the unit is READY again with no technician.
"""

from __future__ import annotations

import random
import sys
import time

import pytest
from lab_guest import Guest, lamp_edges
from lab_image import PINS, SCENE_SECONDS

ROUNDS = 5
# Six boots: about 5 minutes on an idle host, 40 on this one at load average 14.
pytestmark = pytest.mark.timeout(3600)
STATE = "/var/lib/checkpoint-scanner"


def _fingerprint(guest: Guest) -> dict[str, str]:
    out = guest.run("sh", "-c", f"cd {STATE} && find identity trust -type f | sort | "
                    "xargs sha256sum", check=True).out  # fmt: skip
    return {path: digest for digest, path in (line.split() for line in out.splitlines())}


def _clock_floor(guest: Guest) -> float:
    result = guest.run("cat", f"{STATE}/clock-floor")
    return float(result.out.split()[0]) if result.rc == 0 else 0.0  # written every 10 min


def test_every_shown_light_survives_five_power_cuts(guest: Guest) -> None:
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    guest.boot()
    guest.wait_active()
    trust = _fingerprint(guest)
    assert any(p.startswith("identity/") for p in trust)
    assert any(p.startswith("trust/") for p in trust)
    shown = 0
    floor = 0.0
    timings = []
    for round_ in range(ROUNDS):
        lamps = guest.spawn("python3", "/usr/local/lib/lab/lines.py",
                            f"green={PINS['green']}", f"red={PINS['red']}")  # fmt: skip
        # Wait for this round's first light, then cut at a random moment of the scene.
        deadline = time.monotonic() + 3 * SCENE_SECONDS + 30
        while not (list(lamp_edges(lamps, "green")) or list(lamp_edges(lamps, "red"))):
            assert time.monotonic() < deadline, "no light this round" + guest.journal_tail()
            time.sleep(0.2)
        time.sleep(rng.uniform(0, SCENE_SECONDS))
        guest.power_cut()
        shown += len(list(lamp_edges(lamps, "green"))) + len(list(lamp_edges(lamps, "red")))

        started = time.monotonic()
        guest.boot()
        guest.wait_active()
        timings.append(time.monotonic() - started)
        integrity = guest.sql("PRAGMA integrity_check")
        assert integrity == [["ok"]], integrity
        # Only decisions from before this boot: new ones must not stand in for lost ones.
        booted = guest.run("sh", "-c", "awk '/^btime/ {print $2}' /proc/stat", check=True).out
        scans = guest.sql("SELECT count(*) FROM events WHERE kind = 'scan' AND recorded_at < "
                          f"{int(booted)}")[0][0]  # fmt: skip
        assert scans >= shown, f"round {round_}: {shown} lights shown, {scans} in the outbox"
        assert _fingerprint(guest) == trust
        now_floor = _clock_floor(guest)
        assert now_floor >= floor
        floor = now_floor
    sys.stdout.write(
        f"\npower cuts (seed {seed}): {shown} lights shown, all in the outbox; "
        f"back to active in {', '.join(f'{t:.0f}' for t in timings)} s\n"
    )
