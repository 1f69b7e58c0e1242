"""The installer on the booted offline unit: a blank state disk, a re-run, a read-only root."""

from __future__ import annotations

import sys
import time

from lab_guest import Guest

STATE = "/var/lib/checkpoint-scanner"
INSTALL = "/opt/checkpoint-scanner/share/firmware/install.sh"


def _state_files(guest: Guest) -> dict[str, str]:
    out = guest.run("sh", "-c", f"cd {STATE} && find identity trust -type f | sort | "
                    "xargs sha256sum", check=True).out  # fmt: skip
    return {path: digest for digest, path in (line.split() for line in out.splitlines())}


def _installed_files(guest: Guest) -> str:
    return guest.run("sh", "-c", "sha256sum /etc/fstab /etc/systemd/system/checkpoint-scanner."
                     "service /etc/checkpoint-scanner/scanner.toml; findmnt -no SOURCE,TARGET "
                     f"{STATE}", check=True).out  # fmt: skip


def test_offline_install_moves_the_state_onto_a_blank_disk_and_a_rerun_changes_nothing(
    guest_with_state_disk: Guest,
) -> None:
    guest = guest_with_state_disk
    guest.boot()
    guest.wait_active()
    before = _state_files(guest)
    assert guest.run("blkid", "/dev/vdb").rc != 0  # blank: no filesystem at all

    started = time.monotonic()
    first = guest.run(INSTALL, "--skip-pi", "--no-overlay", "--state-device", "/dev/vdb",
                      timeout=600)  # fmt: skip
    first_s = time.monotonic() - started
    assert first.rc == 0, first.out + first.err
    # Offline, with only the Pi packages missing (--skip-pi): apt-get is never run, so
    # nothing waits on DNS; the lists already on the unit say they are not available.
    assert "apt: updating package lists" not in first.err
    assert "apt: installing" not in first.err
    assert "python3-picamera2 is not available here; skipped (--skip-pi)" in first.err
    assert "formatting /dev/vdb as ext4, label cpstate" in first.err
    assert "moved what was in" in first.err
    mount = guest.run("findmnt", "-no", "SOURCE,FSTYPE,OPTIONS", STATE, check=True).out.split()
    assert mount[:2] == ["/dev/vdb", "ext4"], mount
    assert {"nodev", "nosuid", "noexec"} <= set(mount[2].split(","))
    assert _state_files(guest) == before  # the identity and trust data moved, unchanged
    guest.wait_active()
    pid = guest.unit("MainPID")["MainPID"]
    # The running daemon's outbox is the one on the new disk, not one left under the mount.
    fds = guest.run("sh", "-c", f"ls -l /proc/{pid}/fd | grep outbox", check=True).out
    assert f"{STATE}/outbox.sqlite3" in fds
    assert "(deleted)" not in fds
    installed = _installed_files(guest)

    started = time.monotonic()
    second = guest.run(INSTALL, "--skip-pi", "--no-overlay", "--state-device", "/dev/vdb",
                       timeout=600)  # fmt: skip
    second_s = time.monotonic() - started
    assert second.rc == 0, second.out + second.err
    assert "formatting" not in second.err
    assert "moved" not in second.err
    assert "apt: updating package lists" not in second.err
    assert _installed_files(guest) == installed
    assert _state_files(guest) == before

    # Read-only root: the state partition keeps what must survive; the root is not written.
    # Scratch space in RAM, as raspi-config's overlay root gives it on a Pi (PrivateTmp=
    # needs a writable /tmp and /var/tmp); everything durable must be on the state disk.
    guest.run("sh", "-c", "sed -i 's#^/dev/vda / ext4 defaults#/dev/vda / ext4 ro#' /etc/fstab && "
              "printf 'tmpfs /tmp tmpfs mode=1777 0 0\\ntmpfs /var/tmp tmpfs mode=1777 0 0\\n' "
              ">> /etc/fstab", check=True)  # fmt: skip
    scans_before = guest.sql("SELECT count(*) FROM events WHERE kind = 'scan'")[0][0]
    guest.run("systemctl", "poweroff", "--no-block", check=True)
    guest.wait_exit(timeout=120)
    guest.boot("ro")
    guest.wait_active()
    options = guest.run("findmnt", "-no", "OPTIONS", "/", check=True).out
    assert options.split(",")[0] == "ro", options
    deadline = time.monotonic() + 120
    while guest.sql("SELECT count(*) FROM events WHERE kind = 'scan'")[0][0] <= scans_before:
        assert time.monotonic() < deadline, "no decision logged on a read-only root"
        time.sleep(2)
    assert _state_files(guest) == before
    # What it keeps survives a power cut on the read-only root: the decisions made on it.
    kept = guest.sql("SELECT count(*) FROM events WHERE kind = 'scan'")[0][0]
    guest.power_cut()
    guest.boot("ro")
    guest.wait_active()
    booted = guest.run("sh", "-c", "awk '/^btime/ {print $2}' /proc/stat", check=True).out
    after = guest.sql("SELECT count(*) FROM events WHERE kind = 'scan' AND recorded_at < "
                      f"{int(booted)}")[0][0]  # fmt: skip
    assert after >= kept, f"{kept} decisions before the cut, {after} after"
    assert guest.sql("PRAGMA integrity_check") == [["ok"]]
    assert _state_files(guest) == before
    assert guest.run("findmnt", "-no", "OPTIONS", "/", check=True).out.startswith("ro")
    sys.stdout.write(f"\ninstall on the booted unit: first {first_s:.1f} s, re-run "
                     f"{second_s:.1f} s; read-only root: {kept} decisions kept through a "
                     "power cut\n")  # fmt: skip
