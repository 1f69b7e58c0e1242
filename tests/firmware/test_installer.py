"""firmware/install.sh installs a working unit into a real Debian bookworm root.

The slow test debootstraps a minimal bookworm (cached as a tarball under
~/.cache/checkpoint-scanner/, or $CHECKPOINT_CACHE), runs the installer into it
through `--root` (a chroot) with the Pi-only packages missing (`--skip-pi`),
twice, and checks what it left: user, groups, modes, units, venv, journald.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "firmware/install.sh"
SHELL_SCRIPTS = [INSTALLER, *sorted((REPO / "firmware/pi-gen").rglob("*.sh"))]
CACHE = Path(os.environ.get("CHECKPOINT_CACHE", Path.home() / ".cache/checkpoint-scanner"))
SUITE = "bookworm"
# What stock Raspberry Pi OS Lite has that minbase lacks: systemd as init.
INCLUDE = "systemd,systemd-sysv,ca-certificates,python3,python3-venv"
STOCK_CONFIG_TXT = "# stock Raspberry Pi OS lines\ndtparam=audio=on\n[all]\n"
PREFIX = "/opt/checkpoint-scanner"


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


# --- fast checks of the scripts themselves -----------------------------------


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shell_script_parses(script: Path) -> None:
    result = _run(["bash", "-n", str(script)])
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shell_script_passes_shellcheck(script: Path) -> None:
    result = _run(["shellcheck", "-x", str(script)])
    assert result.returncode == 0, result.stdout


def test_installer_rejects_an_unknown_argument() -> None:
    result = _run(["bash", str(INSTALLER), "--frobnicate"])
    assert result.returncode != 0
    assert "unknown argument: --frobnicate" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the installer runs as root")
def test_installer_refuses_a_root_that_is_not_debian(tmp_path: Path) -> None:
    result = _run(["bash", str(INSTALLER), "--root", str(tmp_path), "--skip-pi"])
    assert result.returncode != 0
    assert "not a Debian root" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- the slow test: a real bookworm root ---------------------------------------


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (the only network there is)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text()
        for uri in re.findall(r"^\s*URIs:\s*(\S+)", text, re.M) + re.findall(
            r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", text, re.M
        ):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def mirror_reachable(mirror: str) -> bool:
    try:
        with urllib.request.urlopen(f"{mirror}/dists/{SUITE}/Release", timeout=20) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def bookworm_tarball() -> Path:
    """A debootstrapped bookworm root as a tarball, built once and cached."""
    key = hashlib.sha256(f"{SUITE} minbase {INCLUDE}".encode()).hexdigest()[:12]
    tarball = CACHE / f"{SUITE}-minbase-{key}.tar"
    if tarball.exists():
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    # `make test` runs this suite beside the QEMU lab, which starts from the same root:
    # on a fresh machine both would debootstrap into one build directory.
    with (CACHE / f"{tarball.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            return tarball
        return _debootstrap(key, tarball)


def _debootstrap(key: str, tarball: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("debootstrap and chroot need root")
    if shutil.which("debootstrap") is None:
        _run(["apt-get", "install", "-y", "-qq", "debootstrap"], timeout=600)
    if shutil.which("debootstrap") is None:
        pytest.skip("debootstrap is not installed and apt-get could not install it")
    mirror = debian_mirror()
    if not mirror_reachable(mirror):
        pytest.skip(f"no Debian mirror reachable at {mirror}")
    build = CACHE / f"build-{key}"
    shutil.rmtree(build, ignore_errors=True)
    result = _run(
        ["debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE, str(build), mirror],
        timeout=1800,
    )
    if result.returncode != 0:
        shutil.rmtree(build, ignore_errors=True)
        if not mirror_reachable(mirror):
            pytest.skip(f"debootstrap could not reach {mirror}")
        pytest.fail(f"debootstrap failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    partial = tarball.with_suffix(".tar.partial")
    subprocess.run(
        ["tar", "--numeric-owner", "-C", str(build), "-cf", str(partial), "."], check=True
    )
    partial.rename(tarball)
    shutil.rmtree(build, ignore_errors=True)
    return tarball


def install(root: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment, as a technician's root shell would have, plus the
    # CA bundle of this machine: its HTTPS to PyPI may go through a proxy
    # whose CA the fresh root does not know yet.
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "PIP_CERT": "/etc/ssl/host-ca-bundle.crt",
    }
    cmd = ["bash", str(INSTALLER), "--root", str(root), "--skip-pi", "--source", str(REPO)]
    return _run(cmd, env=env, timeout=1800)


def _snapshot(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Mode, owner, group and content hash of everything the installer touches."""
    paths = [
        "etc/passwd",
        "etc/group",
        "etc/fstab",
        "etc/sysusers.d/checkpoint-scanner.conf",
        "etc/systemd/system/checkpoint-scanner.service",
        "etc/systemd/system/multi-user.target.wants/checkpoint-scanner.service",
        "etc/systemd/journald.conf.d/checkpoint-scanner.conf",
        "etc/systemd/system.conf.d/checkpoint-watchdog.conf",
        "etc/checkpoint-scanner",
        "var/lib/checkpoint-scanner",
        "boot/firmware/config.txt",
        f"{PREFIX.lstrip('/')}/venv/pyvenv.cfg",
        f"{PREFIX.lstrip('/')}/share/firmware/install.sh",
    ]
    snapshot = {}
    for name in paths:
        path = root / name
        if not path.exists():
            continue
        st = path.lstat()
        digest = ""
        if path.is_symlink():
            digest = str(path.readlink())
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        snapshot[name] = (st.st_mode, st.st_uid, st.st_gid, digest)
    return snapshot


class Installed:
    """A bookworm root after the installer ran on it twice."""

    def __init__(self, root: Path, first: dict[str, tuple[int, int, int, str]]) -> None:
        self.root = root
        self.after_first_run = first
        self.timings: dict[str, float] = {}

    def chroot(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        return _run(["chroot", str(self.root), *cmd], timeout=120)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    if os.geteuid() != 0:
        pytest.skip("debootstrap and chroot need root")
    started = time.monotonic()
    tarball = bookworm_tarball()
    prepared = time.monotonic()
    root = tmp_path_factory.mktemp("bookworm") / "root"
    root.mkdir()
    # Numeric owners: the root's users are not this machine's users.
    subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-xpf", str(tarball)], check=True)
    # What Raspberry Pi OS has and plain Debian lacks: the boot partition.
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/config.txt").write_text(STOCK_CONFIG_TXT)
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/host-ca-bundle.crt")
    extracted = time.monotonic()
    first = install(root)
    assert first.returncode == 0, first.stdout + first.stderr
    after_first = _snapshot(root)
    first_done = time.monotonic()
    second = install(root)
    assert second.returncode == 0, second.stdout + second.stderr
    done = time.monotonic()
    result = Installed(root, after_first)
    result.timings = {
        "debootstrap or cache": prepared - started,
        "extract": extracted - prepared,
        "first install": first_done - extracted,
        "second install": done - first_done,
    }
    sys.stdout.write(
        "\ninstaller timings (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
        + "\n"
    )
    yield result
    shutil.rmtree(root, ignore_errors=True)


def _passwd(root: Path) -> dict[str, list[str]]:
    lines = (root / "etc/passwd").read_text().splitlines()
    return {line.split(":")[0]: line.split(":") for line in lines}


def _groups(root: Path) -> dict[str, list[str]]:
    lines = (root / "etc/group").read_text().splitlines()
    return {line.split(":")[0]: line.split(":")[3].split(",") for line in lines}


@pytest.mark.slow
def test_service_user_is_unprivileged_and_in_video_and_gpio(installed: Installed) -> None:
    user = _passwd(installed.root)["checkpoint"]
    assert 0 < int(user[2]) < 1000  # a system user
    assert user[5] == "/var/lib/checkpoint-scanner"
    assert user[6] == "/usr/sbin/nologin"
    groups = _groups(installed.root)
    assert "checkpoint" in groups["video"]
    assert "checkpoint" in groups["gpio"]
    assert not any("checkpoint" in groups[g] for g in ("sudo", "root", "adm") if g in groups)


@pytest.mark.slow
def test_state_and_config_directories_have_their_modes(installed: Installed) -> None:
    uid = int(_passwd(installed.root)["checkpoint"][2])
    state = (installed.root / "var/lib/checkpoint-scanner").stat()
    assert (state.st_mode & 0o7777, state.st_uid) == (0o700, uid)
    config = (installed.root / "etc/checkpoint-scanner").stat()
    assert (config.st_mode & 0o7777, config.st_uid) == (0o755, 0)


@pytest.mark.slow
def test_service_is_installed_and_enabled(installed: Installed) -> None:
    unit = installed.root / "etc/systemd/system/checkpoint-scanner.service"
    assert unit.read_text() == (REPO / "systemd/checkpoint-scanner.service").read_text()
    assert unit.stat().st_mode & 0o7777 == 0o644
    wants = installed.root / "etc/systemd/system/multi-user.target.wants"
    assert (wants / "checkpoint-scanner.service").is_symlink()
    result = installed.chroot("systemctl", "is-enabled", "checkpoint-scanner.service")
    assert result.stdout.strip() == "enabled"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_installed_service_verifies_against_the_installed_root(installed: Installed) -> None:
    # The real ExecStart program and the root's own systemd units this time.
    result = _run(
        ["systemd-analyze", "verify", f"--root={installed.root}", "checkpoint-scanner.service"]
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.slow
def test_venv_sees_system_packages_and_holds_the_project(installed: Installed) -> None:
    cfg = (installed.root / PREFIX.lstrip("/") / "venv/pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in cfg
    result = installed.chroot(
        f"{PREFIX}/venv/bin/python", "-c", "import scanner, provisioning, nacl, zxingcpp"
    )
    assert result.returncode == 0, result.stderr
    for script in ("checkpoint-scanner", "checkpoint-provision"):
        path = installed.root / PREFIX.lstrip("/") / "venv/bin" / script
        assert os.access(path, os.X_OK)
    # Root owns the code: the service user cannot rewrite what it runs.
    assert (installed.root / PREFIX.lstrip("/") / "venv").stat().st_uid == 0


@pytest.mark.slow
def test_journal_is_volatile_and_the_hardware_watchdog_is_on(installed: Installed) -> None:
    journald = installed.root / "etc/systemd/journald.conf.d/checkpoint-scanner.conf"
    assert "Storage=volatile" in journald.read_text().splitlines()
    system = installed.root / "etc/systemd/system.conf.d/checkpoint-watchdog.conf"
    assert "RuntimeWatchdogSec=14s" in system.read_text().splitlines()


@pytest.mark.slow
def test_boot_config_gets_one_block_and_keeps_the_stock_lines(installed: Installed) -> None:
    text = (installed.root / "boot/firmware/config.txt").read_text()
    assert text.startswith(STOCK_CONFIG_TXT)
    assert text.count("# BEGIN checkpoint-scanner") == 1
    assert text.count("dtparam=watchdog=on") == 1
    assert "dtoverlay=disable-wifi" in text


@pytest.mark.slow
def test_no_state_partition_means_no_fstab_entry(installed: Installed) -> None:
    # The throwaway root has no cpstate partition: nothing must point at one.
    assert "cpstate" not in (installed.root / "etc/fstab").read_text()


@pytest.mark.slow
def test_second_run_changes_nothing(installed: Installed) -> None:
    assert _snapshot(installed.root) == installed.after_first_run


@pytest.mark.slow
def test_installer_leaves_no_mounts_or_temporary_files(installed: Installed) -> None:
    mounts = Path("/proc/mounts").read_text()
    assert str(installed.root) not in mounts
    assert list((installed.root / "tmp").iterdir()) == []


@pytest.mark.slow
def test_installer_copy_on_the_unit_can_rerun_without_a_source(installed: Installed) -> None:
    # How a technician re-runs it on a unit flashed from the image.
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    script = installed.root / PREFIX.lstrip("/") / "share/firmware/install.sh"
    result = _run(
        ["bash", str(script), "--root", str(installed.root), "--skip-pi"], env=env, timeout=900
    )
    assert result.returncode == 0, result.stderr
    assert "keeping the installed project" in result.stderr
    assert _snapshot(installed.root) == installed.after_first_run


@pytest.mark.slow
def test_pi_gen_stage_is_prepared_with_a_wheel_and_the_installer(tmp_path: Path) -> None:
    pi_gen = tmp_path / "pi-gen"
    pi_gen.mkdir()
    (pi_gen / "build.sh").write_text("#!/bin/sh\n")
    (pi_gen / "build.sh").chmod(0o755)
    env = {**os.environ, "PYTHON": str(REPO / ".venv/bin/python")}
    if not Path(env["PYTHON"]).exists():
        env["PYTHON"] = "python3"
    result = _run(["bash", str(REPO / "firmware/pi-gen/prepare.sh"), str(pi_gen)], env=env)
    assert result.returncode == 0, result.stderr
    files = pi_gen / "stage-checkpoint/00-install/files"
    assert len(list(files.glob("checkpoint_scanner-*.whl"))) == 1
    assert (files / "payload/firmware/install.sh").is_file()
    assert (files / "payload/systemd/checkpoint-scanner.service").is_file()
    assert not (files / "payload/firmware/pi-gen").exists()
    assert os.access(pi_gen / "stage-checkpoint/00-install/00-run.sh", os.X_OK)
    assert (pi_gen / "stage-checkpoint/EXPORT_IMAGE").is_file()
    assert "stage-checkpoint" in (pi_gen / "config").read_text()
    # No key material travels into the image.
    names = [p.name for p in (pi_gen / "stage-checkpoint").rglob("*")]
    assert not [n for n in names if n.endswith((".key", ".pem", ".sealed")) or "identity" in n]
