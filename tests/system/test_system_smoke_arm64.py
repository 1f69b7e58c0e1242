"""arm64 smoke: the project from its aarch64 wheels on Debian's arm64 kernel, under TCG.

Figures printed here are emulated (an x86 host running an arm64 CPU in
software, tens of times slower than a Pi 4) and are never Pi speed: what
they show is that the wheels import, decode, verify and run under the unit's
hardening (MemoryDenyWriteExecute included) on arm64.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

import pytest
from lab_guest import Guest, booted_guest
from lab_image import LabImage

VENV = "/opt/checkpoint-scanner/venv/bin"
KEYS = "/root/lab-keys"
# The first test's setup builds the image on a fresh machine: debootstrap's second stage and
# the offline install, both under TCG (32 and 7 min here, at load 3-4); warm, the module
# took 218 s beside the rest of `make test`.
pytestmark = pytest.mark.timeout(5400)


@pytest.fixture(scope="module")
def arm64(arm64_image: LabImage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    with booted_guest(arm64_image, tmp_path_factory.mktemp("arm64")) as guest:
        yield guest


def test_arm64_service_decides_under_its_unit_file(arm64: Guest) -> None:
    guest = arm64
    assert guest.run("uname", "-m", check=True).out.strip() == "aarch64"
    unit = guest.unit("ActiveState", "User", "ProtectSystem", "MemoryDenyWriteExecute",
                      "NoNewPrivileges", "NRestarts")  # fmt: skip
    assert unit["ActiveState"] == "active"
    assert unit["User"] == "checkpoint"
    assert unit["ProtectSystem"] == "strict"
    assert unit["MemoryDenyWriteExecute"] == "yes"
    assert unit["NoNewPrivileges"] == "yes"
    wanted = {("P-LAB-VALID", "accept", None), ("P-LAB-OLD", "reject", "expired")}
    seen: set[tuple[str, str, str | None]] = set()
    deadline = time.monotonic() + 600
    while not wanted <= seen and time.monotonic() < deadline:
        time.sleep(5)
        scans = guest.sql("SELECT body FROM events WHERE kind = 'scan'")
        seen = {
            (d["pass_id"], d["outcome"], d["reason"]) for d in (json.loads(b) for (b,) in scans)
        }
    journal = guest.run("journalctl", "-b", "-u", "checkpoint-scanner", "--no-pager").out
    assert wanted <= seen, f"decisions seen: {seen}" + journal[-3000:]
    assert "Traceback" not in journal
    assert guest.unit("NRestarts")["NRestarts"] == "0", journal[-3000:]


def test_arm64_bench_and_scan_on_real_pass_images(arm64: Guest) -> None:
    guest = arm64
    scan = guest.run(f"{VENV}/checkpoint-scanner", "scan", "--root-pub", f"{KEYS}/root.pub",
                     "--bundle", f"{KEYS}/bundle.cose", "--json", f"{KEYS}/valid.png",
                     f"{KEYS}/expired.png", timeout=600, check=True)  # fmt: skip
    verdicts = [(c["pass_id"], c["verdict"], c["reason"])
                for line in scan.out.splitlines() for c in json.loads(line)["codes"]]  # fmt: skip
    assert verdicts == [("P-LAB-VALID", "accept", None), ("P-LAB-OLD", "reject", "expired")]
    frames = json.loads(
        guest.run(
            f"{VENV}/checkpoint-scanner",
            "bench",
            "frames",
            "--iterations",
            "20",
            "--json",
            timeout=1800,
            check=True,
        ).out
    )
    verify = json.loads(
        guest.run(
            f"{VENV}/checkpoint-scanner",
            "bench",
            "verify",
            "--rounds",
            "3",
            "--calls",
            "50",
            "--json",
            timeout=1800,
            check=True,
        ).out
    )
    code = frames["640x480_code"]
    assert code["ms_p50"] > 0
    assert verify["pass_verify_us"] > 0
    sys.stdout.write(
        "\narm64 under TCG (emulated, not Pi speed): 640x480 frame with a code "
        f"{code['ms_p50']:.1f} ms p50 (bare zxing-cpp {code['bare_ms_p50']:.1f} ms, "
        f"{1000 / code['ms_p50']:.0f} fps); 1280x720 {frames['1280x720_code']['ms_p50']:.1f} ms; "
        f"pass verify {verify['pass_verify_us']:.0f} us (bare Ed25519 "
        f"{verify['bare_ed25519_us']:.0f} us, ratio {verify['ratio']:.2f})\n"
    )
