"""The lab's disk image: the installer test's bookworm root, bootable, installed, provisioned.

Two cached layers under the installer test's cache directory, each keyed on
its inputs: a base root (bookworm + kernel, initramfs, udev, dbus), and the
unit image (the base after `firmware/install.sh --root`, provisioned with the
project's own commands, the lab agent added, made into an ext4 image by
`mkfs.ext4 -d`, which needs no loop mount). A change to the project rebuilds
only the second layer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioning.tomltext import dumps

REPO = Path(__file__).resolve().parents[2]
GUEST_FILES = Path(__file__).resolve().parent / "guest"
sys.path.insert(0, str(REPO / "tests" / "firmware"))
import test_installer as installer  # noqa: E402 - the cached bookworm root lives there

CACHE = installer.CACHE
# What a Pi's image has and the debootstrapped root lacks to boot on its own.
BASE_PACKAGES = "linux-image-amd64 initramfs-tools udev dbus kmod e2fsprogs procps sqlite3"
# MODULES=list: an initramfs with only what the guest's root disk needs (QEMU virtio).
INITRAMFS_MODULES = "virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n"
# Only to build guest/lab_gpio.c against Debian's own headers; purged afterwards.
MODULE_BUILD_PACKAGES = "linux-headers-amd64 gcc make"
LGPIO = "lgpio==0.2.2.0"  # gpiozero's factory on a Pi 5 and on Bookworm; sdist only for x86
LAB_MASKED = ("e2scrub_reap.service", "e2scrub_all.timer", "apt-daily.timer",
              "apt-daily-upgrade.timer", "man-db.timer", "dpkg-db-backup.timer", "fstrim.timer",
              "getty@tty1.service", "systemd-pcrphase.service",
              "systemd-pcrphase-sysinit.service")  # fmt: skip
CHECKPOINT_ID = "LAB-01"
FRAMES_DIR = "/srv/lab/frames"
# Lamps wired as a light tower: green 17, red 27, amber status 22, buzzer 18.
PINS = {"green": 17, "red": 27, "amber": 22, "buzzer": 18}
REPLAY_FPS = 5.0
# The replayed scene, in frames at REPLAY_FPS: a valid pass, nothing, an expired pass, nothing.
SCENE = (("valid", 5), ("blank", 15), ("expired", 5), ("blank", 15))
SCENE_SECONDS = sum(n for _, n in SCENE) / REPLAY_FPS


@dataclass(frozen=True)
class LabImage:
    """A bootable unit: kernel, initramfs and a raw ext4 root image (the overlays' backing file)."""

    kernel: Path
    initrd: Path
    root: Path
    keys: Path  # the central side's keys and passes that provisioned it
    build_seconds: float
    arch: str = "x86_64"  # or "arm64" (lab_arm64.py)
    root_format: str = "raw"


def _run(cmd: list[str], timeout: float = 1800, **kwargs: object) -> str:
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )  # type: ignore[call-overload]
    if result.returncode != 0:
        pytest.fail(f"{cmd[:4]} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                    f"{result.stderr[-3000:]}")  # fmt: skip
    return str(result.stdout)


@contextmanager
def _chroot_mounts(root: Path) -> Iterator[None]:
    mounted: list[Path] = []
    try:
        for target, args in (("proc", ["-t", "proc", "proc"]), ("sys", ["-t", "sysfs", "sysfs"]),
                             ("dev", ["--bind", "/dev"])):  # fmt: skip
            path = root / target
            path.mkdir(exist_ok=True)
            _run(["mount", *args, str(path)])
            mounted.append(path)
        yield
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", str(path)], check=False)


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for f in files:
                if "__pycache__" in f.parts or f.suffix == ".pyc":
                    continue
                h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes())
        else:
            h.update(str(part).encode())
        h.update(b"\1")
    return h.hexdigest()[:12]


def _cached(path: Path, build: object) -> Path:
    """`path` if it exists; else built by `build(partial)` and renamed into place."""
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.unlink(missing_ok=True)
        build(partial)  # type: ignore[operator]
        partial.rename(path)
    return path


def _extract(tarball: Path, root: Path) -> None:
    root.mkdir(parents=True)
    _run(["tar", "--numeric-owner", "-C", str(root), "-xpf", str(tarball)])


def base_tarball() -> Path:
    """bookworm + a kernel, an initramfs for virtio, udev and dbus; cached as a tarball."""
    bookworm = installer.bookworm_tarball()
    key = _digest(bookworm.name, BASE_PACKAGES, INITRAMFS_MODULES, MODULE_BUILD_PACKAGES,
                  GUEST_FILES / "lab_gpio.c")  # fmt: skip

    def build(partial: Path) -> None:
        root = CACHE / f"lab-base-build-{key}"
        shutil.rmtree(root, ignore_errors=True)
        _extract(bookworm, root)
        conf = root / "etc/initramfs-tools"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "conf.d").mkdir(exist_ok=True)
        (conf / "conf.d/lab.conf").write_text("MODULES=list\n")
        (conf / "modules").write_text(INITRAMFS_MODULES)
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"}
        with _chroot_mounts(root):
            _run(["chroot", str(root), "apt-get", "update", "-qq"], env=env)
            _run(["chroot", str(root), "apt-get", "install", "-y", "-qq",
                  "--no-install-recommends", *BASE_PACKAGES.split()], env=env)  # fmt: skip
            _build_lab_gpio(root, env)
            _run(["chroot", str(root), "apt-get", "clean"], env=env)
        (root / "etc/resolv.conf").write_text("")  # the guest has no network
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."])
        shutil.rmtree(root, ignore_errors=True)

    return _cached(CACHE / f"lab-base-{key}.tar", build)


def _build_lab_gpio(root: Path, env: dict[str, str]) -> None:
    """Debian's kernel has no gpio-sim or gpio-mockup: build the lab's GPIO chip module."""
    kernel = next((root / "lib/modules").iterdir()).name
    chroot = ["chroot", str(root)]
    _run([*chroot, "apt-get", "install", "-y", "-qq", "--no-install-recommends",
          *MODULE_BUILD_PACKAGES.split()], env=env)  # fmt: skip
    work = root / "tmp/lab-gpio"
    work.mkdir()
    shutil.copy(GUEST_FILES / "lab_gpio.c", work / "lab_gpio.c")
    (work / "Kbuild").write_text("obj-m := lab_gpio.o\n")
    _run([*chroot, "make", "-s", "-C", f"/lib/modules/{kernel}/build", "M=/tmp/lab-gpio",
          "modules"], env=env)  # fmt: skip
    extra = root / f"lib/modules/{kernel}/extra"
    extra.mkdir(exist_ok=True)
    shutil.copy(work / "lab_gpio.ko", extra / "lab_gpio.ko")
    shutil.rmtree(work)
    _run([*chroot, "depmod", kernel], env=env)
    _run([*chroot, "apt-get", "purge", "-y", "-qq", "--auto-remove",
          *MODULE_BUILD_PACKAGES.split(), f"linux-headers-{kernel}"], env=env)  # fmt: skip


def lgpio_wheel() -> Path:
    """lgpio from PyPI, built once into a static wheel (PyPI has no x86_64 wheel of it)."""
    missing = [tool for tool in ("gcc", "swig") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"building lgpio needs {' and '.join(missing)} (apt-get install gcc swig)")
    directory = CACHE / f"wheels-{_digest(LGPIO, sys.version_info[:2])}"

    def build(partial: Path) -> None:
        partial.mkdir(parents=True)
        # PYPI=1: lgpio's setup.py links its C library statically into the module.
        env = {**os.environ, "PYPI": "1"}
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-binary", "lgpio",
              "-w", str(partial), LGPIO], env=env)  # fmt: skip

    return next(_cached(directory, build).glob("lgpio-*.whl"))


def _provision_keys(keys: Path) -> None:
    """The central side's keys, trust bundle and passes (PNGs), as its tools make them."""
    provision = [str(Path(sys.executable).with_name("checkpoint-provision"))]
    keys.mkdir(parents=True)
    for role in ("root", "issuer", "revocation"):
        _run([*provision, "keygen", "--role", role, "--out", str(keys / role)])
    _run([*provision, "trust-bundle", "--root-key", str(keys / "root.key"),
          "--issuer-pub", str(keys / "issuer.pub"),
          "--revocation-pub", str(keys / "revocation.pub"), "--version", "1",
          "--expires", "2030-01-01T00:00:00Z", "--out", str(keys / "bundle.cose")])  # fmt: skip
    today = time.gmtime()
    past = f"{today.tm_year - 2}-01-01T00:00:00Z"
    _run([*provision, "issue", "--issuer-key", str(keys / "issuer.key"), "--pass-id", "P-LAB-VALID",
          "--holder", "NGUYEN VAN A", "--not-before", past, "--not-after", "2029-12-31T00:00:00Z",
          "--out", str(keys / "valid")])  # fmt: skip
    _run([*provision, "issue", "--issuer-key", str(keys / "issuer.key"), "--pass-id", "P-LAB-OLD",
          "--holder", "TRAN THI B", "--not-before", past, "--issued-at", past, "--not-after",
          f"{today.tm_year - 1}-01-01T00:00:00Z", "--out", str(keys / "expired")])  # fmt: skip


def _replay_frames(keys: Path, frames: Path) -> None:
    """The camera stand-in's frames: the real pass images in SCENE's order, blanks between."""
    frames.mkdir(parents=True)
    blank = frames / "blank.png"
    _run([sys.executable, "-c", "import sys, cv2, numpy; cv2.imwrite(sys.argv[1], "
          "numpy.full((480, 640), 255, numpy.uint8))", str(blank)])  # fmt: skip
    n = 0
    for name, count in SCENE:
        source = blank if name == "blank" else keys / f"{name}.png"
        for _ in range(count):
            shutil.copy(source, frames / f"{n:04d}-{name}.png")
            n += 1
    blank.unlink()


def _provision(root: Path, keys: Path) -> None:
    """The central side's keys and passes, and `device init`, as a technician runs them."""
    provision = [str(Path(sys.executable).with_name("checkpoint-provision"))]
    _provision_keys(keys)
    _run([*provision, "device", "init", "--sysroot", str(root), "--checkpoint-id", CHECKPOINT_ID,
          "--label", "QEMU lab", "--broker", "mqtt://192.0.2.1:1883",
          "--root-pub", str(keys / "root.pub"), "--bundle", str(keys / "bundle.cose"),
          "--green-pin", str(PINS["green"]), "--red-pin", str(PINS["red"]),
          "--amber-pin", str(PINS["amber"]), "--buzzer-pin", str(PINS["buzzer"])])  # fmt: skip
    # No camera in a VM: the same daemon on a replay of real pass images instead.
    _replay_frames(keys, root / FRAMES_DIR.lstrip("/"))
    config = root / "etc/checkpoint-scanner/scanner.toml"
    table = tomllib.loads(config.read_text())
    table["camera"] = {"source": "replay", "reopen_min_s": 1.0,
                       "replay": {"path": FRAMES_DIR, "fps": REPLAY_FPS, "loop": True}}  # fmt: skip
    config.write_text(dumps(table))


def _install_lab_files(root: Path, wheel: Path) -> None:
    lab = root / "usr/local/lib/lab"
    lab.mkdir(parents=True, exist_ok=True)
    for name in ("agent.py", "lines.py", "cpuinfo"):
        shutil.copy(GUEST_FILES / name, lab / name)
    units = root / "etc/systemd/system"
    for unit, target in (("lab-agent.service", "sysinit.target"),
                         ("lab-gpio.service", "multi-user.target")):  # fmt: skip
        shutil.copy(GUEST_FILES / unit, units / unit)
        wants = units / f"{target}.wants"
        wants.mkdir(exist_ok=True)
        (wants / unit).unlink(missing_ok=True)
        (wants / unit).symlink_to(f"/etc/systemd/system/{unit}")
    dropin = units / "checkpoint-scanner.service.d"
    dropin.mkdir(exist_ok=True)
    shutil.copy(GUEST_FILES / "lab-checkpoint.conf", dropin / "lab.conf")
    shutil.copy(GUEST_FILES / "60-lab-gpio.rules", root / "etc/udev/rules.d/60-lab-gpio.rules")
    shutil.copy(GUEST_FILES / "lab-watchdog.conf",
                root / "etc/systemd/system.conf.d/zz-lab-watchdog.conf")  # fmt: skip
    (root / "etc/hostname").write_text("lab-unit\n")
    # Nothing a checkpoint runs; under TCG every unit started costs seconds of boot.
    for unit in LAB_MASKED:
        mask = units / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")
    (root / "etc/fstab").write_text("/dev/vda / ext4 defaults,errors=remount-ro 0 1\n")
    shutil.copy(wheel, root / "tmp" / wheel.name)
    pip = "/opt/checkpoint-scanner/venv/bin/pip"
    _run(["chroot", str(root), pip, "install", "--quiet", "--no-index", "--no-deps",
          f"/tmp/{wheel.name}"])  # fmt: skip
    (root / "tmp" / wheel.name).unlink()


def _mkfs(root: Path, image: Path) -> None:
    used = int(_run(["du", "-sxb", str(root)]).split()[0])
    size_mib = used * 3 // 2 // 2**20 + 512  # room for the outbox and a second install
    _run(["mkfs.ext4", "-q", "-F", "-L", "labroot", "-d", str(root), str(image), f"{size_mib}M"])


def unit_image() -> LabImage:
    """The provisioned unit image; cached, keyed on the base and every file that goes in."""
    started = time.monotonic()
    base = base_tarball()
    wheel = lgpio_wheel()
    key = _digest(base.name, wheel.name, REPO / "pyproject.toml", REPO / "scanner",
                  REPO / "provisioning", REPO / "firmware", REPO / "systemd", GUEST_FILES,
                  Path(__file__), json.dumps(SCENE), REPLAY_FPS)  # fmt: skip
    directory = CACHE / f"lab-unit-{key}"

    def build(partial: Path) -> None:
        for stale in CACHE.glob("lab-unit-*"):  # images of older inputs: 1-2 GB each
            shutil.rmtree(stale, ignore_errors=True)
        root = CACHE / f"lab-unit-build-{key}"
        shutil.rmtree(root, ignore_errors=True)
        _extract(base, root)
        (root / "boot/firmware").mkdir(parents=True, exist_ok=True)
        (root / "boot/firmware/config.txt").write_text(installer.STOCK_CONFIG_TXT)
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/host-ca-bundle.crt")
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        result = installer.install(root)
        if result.returncode != 0:
            pytest.fail("install.sh --root failed:\n" + result.stdout + result.stderr)
        partial.mkdir(parents=True)
        _provision(root, partial / "keys")
        with _chroot_mounts(root):
            _install_lab_files(root, wheel)
        (root / "etc/resolv.conf").write_text("")
        (root / "etc/ssl/host-ca-bundle.crt").unlink()
        kernel = max((root / "boot").glob("vmlinuz-*"))
        shutil.copy(kernel, partial / "vmlinuz")
        shutil.copy(
            root / "boot" / kernel.name.replace("vmlinuz", "initrd.img"), partial / "initrd"
        )
        shutil.copy(root / "boot" / kernel.name.replace("vmlinuz", "config"), partial / "config")
        _mkfs(root, partial / "root.img")
        shutil.rmtree(root, ignore_errors=True)

    _cached(directory, build)
    return LabImage(
        kernel=directory / "vmlinuz",
        initrd=directory / "initrd",
        root=directory / "root.img",
        keys=directory / "keys",
        build_seconds=time.monotonic() - started,
    )


def kernel_has(image: LabImage, option: str) -> bool:
    """Whether Debian's kernel config builds `option` (=y or =m)."""
    text = (image.kernel.parent / "config").read_text()
    return f"\n{option}=y" in text or f"\n{option}=m" in text
