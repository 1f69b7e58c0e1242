"""The arm64 lab image: bookworm for arm64 under TCG, the project from aarch64 wheels.

The host cannot run arm64 code, so every arm64 step happens in the guest. Two
cached layers under the installer test's cache directory, each keyed on its inputs:

1. **The base** (`lab-arm64-base-<key>/`): `debootstrap --foreign` on the host
   (downloads and unpacks only), then one boot of the guest whose PID 1 is
   `guest/arm64-stage2.sh`, which runs the second stage and powers off. Every
   arm64 boot starts from a small initramfs the host packs (`guest/arm64-init.sh`,
   Debian's static busybox, and the virtio and ext4 modules of Debian's arm64
   kernel, which builds them as modules). Debian's kernel package makes no
   initramfs of its own (`INITRD=No` in the second stage): under TCG that took
   27 min here, and initramfs-tools' trigger built it a second time.
2. **The unit** (`lab-arm64-unit-<key>/`): a qcow2 overlay of the base, booted
   with a second disk holding the project's wheel, its dependencies' aarch64
   wheels from PyPI (`pip download --platform manylinux_2_28_aarch64 ...`), the
   installer and the provisioning files. Through the lab agent the guest runs
   `firmware/install.sh --skip-pi --no-overlay` offline (pip finds only those
   wheels) and `device init`, as a technician would on a Pi, then powers off.

The lamps are configured `pins = "mock"` (said in the config, so the unit says
so too): QEMU's virt machine has an 8-line PL061 GPIO chip, not a Pi's header,
and the x86 lab already reads real lines toggled under the hardened unit.
"""

from __future__ import annotations

import fcntl
import gzip
import re
import shutil
import sys
import time
import tomllib
from pathlib import Path

import pytest
from lab_guest import Guest
from lab_image import (
    CACHE,
    FRAMES_DIR,
    GUEST_FILES,
    LAB_MASKED,
    REPLAY_FPS,
    REPO,
    SCENE,
    LabImage,
    _digest,
    _provision_keys,
    _replay_frames,
    _run,
    installer,
)

from provisioning.tomltext import dumps

ARCH = "arm64"
PACKAGES = ("systemd,systemd-sysv,ca-certificates,python3,python3-venv,udev,dbus,kmod,procps,"
            "sqlite3,e2fsprogs,linux-image-arm64,busybox-static")  # fmt: skip
# aarch64 wheels for Python 3.11 (bookworm's): manylinux2014 alone misses zxing-cpp,
# lgpio needs manylinux_2_34 (bookworm's glibc is 2.36).
PLATFORMS = ("manylinux_2_34_aarch64", "manylinux_2_28_aarch64", "manylinux_2_17_aarch64",
             "manylinux2014_aarch64")  # fmt: skip
LGPIO = "lgpio==0.2.2.0"
# What the second-stage boot's initramfs loads, dependencies first (see _module_order).
BOOT_MODULES = ("virtio_mmio", "virtio_blk", "crc32c_generic", "ext4")
CHECKPOINT_ID = "LAB-A64"
FSTAB = "LABEL=labroot / ext4 defaults,errors=remount-ro 0 1\n"  # see guest/arm64-init.sh
STAGE2_DONE = re.compile(r"lab-stage2: done rc=(\d+)")


def _deb(archives: Path, name: str) -> Path:
    found = sorted(archives.glob(f"{name}_*_arm64.deb"))
    assert found, f"debootstrap downloaded no {name} into {archives}"
    return found[-1]


def _modinfo(module: Path, key: str) -> list[str]:
    """The values of `key` in a kernel module's .modinfo (NUL-separated key=value strings)."""
    return [m.decode() for m in re.findall(rb"\x00" + key.encode() + rb"=([^\x00]*)",
                                           module.read_bytes())]  # fmt: skip


def _module_order(modules: Path, wanted: tuple[str, ...]) -> list[Path]:
    """`wanted` and what they depend on, dependencies first (the host has no depmod for arm64)."""
    by_name = {p.name.removesuffix(".ko").replace("-", "_"): p for p in modules.rglob("*.ko")}
    order: list[Path] = []

    def visit(name: str) -> None:
        path = by_name.get(name.replace("-", "_"))
        if path is None or path in order:
            return  # built into the kernel, or already listed
        for deps in _modinfo(path, "depends"):
            for dep in filter(None, deps.split(",")):
                visit(dep)
        order.append(path)

    for name in wanted:
        visit(name)
    return order


def _cpio_newc(files: list[tuple[str, int, bytes]]) -> bytes:
    """An initramfs archive (cpio "newc"): (path, mode, data) entries, directories first."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate([*files, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out += b"070701" + b"".join(f"{f:08x}".encode() for f in fields) + encoded
        out += b"\0" * (-len(out) % 4)  # the name ends on a 4-byte boundary, as does the data
        out += data + b"\0" * (-len(data) % 4)
    return bytes(out)


def _lab_initramfs(kernel_tree: Path, busybox: Path, out: Path) -> None:
    modules = _module_order(kernel_tree / "lib/modules", BOOT_MODULES)
    files: list[tuple[str, int, bytes]] = [("bin", 0o40755, b""), ("lib", 0o40755, b"")]
    files.append(("bin/busybox", 0o100755, busybox.read_bytes()))
    files.append(("init", 0o100755, (GUEST_FILES / "arm64-init.sh").read_bytes()))
    listed = []
    for module in modules:
        name = f"lib/{module.name}"
        files.append((name, 0o100644, module.read_bytes()))
        listed.append(name)
    files.append(("modules", 0o100644, ("\n".join(listed) + "\n").encode()))
    out.write_bytes(gzip.compress(_cpio_newc(files), compresslevel=1))


def _mkfs(root: Path, image: Path, spare_mib: int, label: str) -> None:
    used = int(_run(["du", "-sxb", str(root)]).split()[0])
    size_mib = used // 2**20 + spare_mib
    _run(["mkfs.ext4", "-q", "-F", "-L", label, "-d", str(root), str(image), f"{size_mib}M"])


def _boot_until_off(image: LabImage, workdir: Path, extra_disk: Path | None = None,
                    *kernel_args: str) -> str:  # fmt: skip
    guest = Guest(image, workdir, extra_disk=extra_disk, overlay=False)
    try:
        guest.start(*kernel_args)
        guest.wait_exit(timeout=7200)  # 10-40 min of TCG, by the load
    finally:
        guest.close()
    return guest.console_text()


def base_image() -> LabImage:
    """bookworm arm64, its second stage run in the guest; cached (32 min of TCG once here)."""
    directory = CACHE / f"lab-arm64-base-{_base_key()}"
    if directory.exists():
        return _base_files(directory)
    mirror = installer.debian_mirror()
    if not installer.mirror_reachable(mirror):
        pytest.skip(f"no Debian mirror reachable at {mirror} for the arm64 root")
    # Older inputs, or a build that was killed: about 1 GB each.
    for stale in [*CACHE.glob("lab-arm64-base-*"), *CACHE.glob("lab-arm64-root-*")]:
        shutil.rmtree(stale, ignore_errors=True)
    partial = directory.with_name(directory.name + ".partial")
    root = directory.with_name(directory.name.replace("-base-", "-root-"))
    for path in (partial, root):
        shutil.rmtree(path, ignore_errors=True)
    partial.mkdir(parents=True)
    _run(["debootstrap", "--foreign", f"--arch={ARCH}", "--variant=minbase",
          f"--include={PACKAGES}", installer.SUITE, str(root), mirror], timeout=1800)  # fmt: skip
    archives = root / "var/cache/apt/archives"
    kernel_tree, busybox_tree = partial / "kernel-deb", partial / "busybox-deb"
    kernel_deb = next(p for p in archives.glob("linux-image-6*_arm64.deb"))
    _run(["dpkg-deb", "-x", str(kernel_deb), str(kernel_tree)])
    _run(["dpkg-deb", "-x", str(_deb(archives, "busybox-static")), str(busybox_tree)])
    shutil.copy(next((kernel_tree / "boot").glob("vmlinuz-*")), partial / "vmlinuz")
    _lab_initramfs(kernel_tree, busybox_tree / "bin/busybox", partial / "initrd")
    shutil.rmtree(busybox_tree)
    shutil.rmtree(kernel_tree)
    _install_lab_files(root)
    # Spare room for packages, the venv and the outbox.
    _mkfs(root, partial / "root.img", spare_mib=1536, label="labroot")
    shutil.rmtree(root)
    console = _boot_until_off(_base_files(partial), partial, None, "init=/lab-stage2.sh")
    done = STAGE2_DONE.search(console)
    assert done, "the second stage never finished:\n" + console[-4000:]
    assert done.group(1) == "0", "the second stage failed:\n" + console[-4000:]
    for scratch in ("console.log", "qemu.log"):
        (partial / scratch).unlink(missing_ok=True)
    partial.rename(directory)
    return _base_files(directory)


def _base_key() -> str:
    return _digest(ARCH, installer.SUITE, PACKAGES, BOOT_MODULES, LAB_MASKED, FSTAB,
                   GUEST_FILES / "arm64-init.sh", GUEST_FILES / "arm64-stage2.sh",
                   GUEST_FILES / "agent.py", GUEST_FILES / "lab-agent-virtio.service")  # fmt: skip


def _base_files(directory: Path) -> LabImage:
    return LabImage(kernel=directory / "vmlinuz", initrd=directory / "initrd",
                    root=directory / "root.img", keys=directory, build_seconds=0.0,
                    arch=ARCH)  # fmt: skip


def _install_lab_files(root: Path) -> None:
    """The lab's agent, the second-stage script, and nothing a checkpoint does not run."""
    lab = root / "usr/local/lib/lab"
    lab.mkdir(parents=True, exist_ok=True)
    shutil.copy(GUEST_FILES / "agent.py", lab / "agent.py")
    shutil.copy(GUEST_FILES / "arm64-stage2.sh", root / "lab-stage2.sh")
    (root / "lab-stage2.sh").chmod(0o755)
    units = root / "etc/systemd/system"
    (units / "sysinit.target.wants").mkdir(parents=True, exist_ok=True)
    shutil.copy(GUEST_FILES / "lab-agent-virtio.service", units / "lab-agent.service")
    (units / "sysinit.target.wants/lab-agent.service").symlink_to(
        "/etc/systemd/system/lab-agent.service"
    )
    for unit in LAB_MASKED:
        (units / unit).symlink_to("/dev/null")
    (root / "etc/fstab").write_text(FSTAB)
    (root / "etc/hostname").write_text("lab-arm64\n")
    # `debootstrap --foreign` leaves /proc a symlink to itself (for a chroot on the host):
    # booted, that is a loop, and nothing could mount /proc there.
    if (root / "proc").is_symlink():
        (root / "proc").unlink()
        (root / "proc").mkdir()


def aarch64_wheels() -> Path:
    """The project's dependencies as aarch64 wheels for Python 3.11, from PyPI; cached."""
    directory = CACHE / f"wheels-aarch64-{_digest(REPO / 'pyproject.toml', PLATFORMS, LGPIO)}"
    if directory.exists():
        return directory
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    project = partial / "project"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--quiet", "--no-deps", "-w", str(project), str(REPO)])
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    _run([*pip, "download", "--quiet", "--dest", str(partial), "--only-binary=:all:", *platforms,
          "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
          str(next(project.glob("*.whl"))), LGPIO], timeout=1800)  # fmt: skip
    shutil.rmtree(project)
    for own in partial.glob("checkpoint_scanner-*.whl"):
        own.unlink()
    partial.rename(directory)
    return directory


def _payload(directory: Path, wheels: Path, keys: Path) -> Path:
    """The second disk of the install boot: wheels, installer, units, trust files, frames."""
    tree = directory / "payload"
    shutil.copytree(wheels, tree / "wheels")
    _run([sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", "--quiet",
          "--no-deps", "-w", str(tree / "wheels"), str(REPO)])  # fmt: skip
    for part in ("firmware", "systemd"):
        shutil.copytree(REPO / part, tree / "src" / part)
    shutil.copytree(keys, tree / "keys")
    _replay_frames(keys, tree / "frames")
    shutil.copy(GUEST_FILES / "lab-arm64.conf", tree / "lab-arm64.conf")
    image = directory / "payload.img"
    _mkfs(tree, image, spare_mib=16, label="labpayload")
    shutil.rmtree(tree)
    return image


def unit_image() -> LabImage:
    """The arm64 unit: the base, installed offline from aarch64 wheels and provisioned; cached."""
    started = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    # Two runs at once (a second checkout's tests) must not build over each other's partials.
    with (CACHE / "lab-arm64.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _unit_image(started)


def _unit_image(started: float) -> LabImage:
    base = base_image()
    wheels = aarch64_wheels()
    key = _digest(base.root.parent.name, wheels.name, REPO / "pyproject.toml", REPO / "scanner",
                  REPO / "provisioning", REPO / "firmware", REPO / "systemd",
                  GUEST_FILES / "lab-arm64.conf", Path(__file__), repr(SCENE),
                  REPLAY_FPS)  # fmt: skip
    directory = CACHE / f"lab-arm64-unit-{key}"
    if not directory.exists():
        for stale in CACHE.glob("lab-arm64-unit-*"):
            shutil.rmtree(stale, ignore_errors=True)
        partial = directory.with_name(directory.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        _provision_keys(partial / "keys")
        payload = _payload(partial, wheels, partial / "keys")
        _run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(base.root),
              str(partial / "unit.qcow2")])  # fmt: skip
        unit = LabImage(kernel=base.kernel, initrd=base.initrd, root=partial / "unit.qcow2",
                        keys=partial / "keys", build_seconds=0.0, arch=ARCH,
                        root_format="qcow2")  # fmt: skip
        _install_in_guest(unit, partial, payload)
        payload.unlink()
        partial.rename(directory)
    return LabImage(kernel=base.kernel, initrd=base.initrd, root=directory / "unit.qcow2",
                    keys=directory / "keys", build_seconds=time.monotonic() - started,
                    arch=ARCH, root_format="qcow2")  # fmt: skip


def _install_in_guest(unit: LabImage, workdir: Path, payload: Path) -> None:
    """What a technician runs on a Pi with no network: the installer, then `device init`."""
    guest = Guest(unit, workdir, extra_disk=payload, overlay=False)
    try:
        guest.boot()
        # By label: virt numbers virtio-mmio disks in reverse, so this one is /dev/vda.
        guest.run("mount", "-o", "ro", "LABEL=labpayload", "/mnt", check=True)
        names = guest.run("ls", "/mnt/wheels", check=True).out.split()
        project = next(n for n in names if n.startswith("checkpoint_scanner-"))
        # Offline, as at a roadside: pip sees only the wheels on the disk.
        guest.run("env", "PIP_NO_INDEX=1", "PIP_FIND_LINKS=/mnt/wheels", "bash",
                  "/mnt/src/firmware/install.sh", "--skip-pi", "--no-overlay", "--source",
                  f"/mnt/wheels/{project}", timeout=3000, check=True)  # fmt: skip
        venv = "/opt/checkpoint-scanner/venv/bin"
        lgpio = next(n for n in names if n.startswith("lgpio-"))
        guest.run(f"{venv}/pip", "install", "--quiet", "--no-index", "--no-deps",
                  f"/mnt/wheels/{lgpio}", timeout=600, check=True)  # fmt: skip
        guest.run(f"{venv}/checkpoint-provision", "device", "init", "--checkpoint-id",
                  CHECKPOINT_ID, "--label", "QEMU lab arm64", "--broker", "mqtt://192.0.2.1:1883",
                  "--root-pub", "/mnt/keys/root.pub", "--bundle", "/mnt/keys/bundle.cose",
                  timeout=600, check=True)  # fmt: skip
        guest.run("mkdir", "-p", FRAMES_DIR, check=True)
        guest.run("cp", "-rT", "/mnt/frames", FRAMES_DIR, check=True)
        guest.run("mkdir", "-p", "/root/lab-keys", check=True)
        for name in ("root.pub", "bundle.cose", "valid.png", "expired.png"):
            guest.run("cp", f"/mnt/keys/{name}", "/root/lab-keys/", check=True)
        dropin = "/etc/systemd/system/checkpoint-scanner.service.d"
        guest.run("install", "-D", "-m", "0644", "/mnt/lab-arm64.conf", f"{dropin}/lab.conf",
                  check=True)  # fmt: skip
        config = "/etc/checkpoint-scanner/scanner.toml"
        table = tomllib.loads(guest.run("cat", config, check=True).out)
        table["camera"] = {
            "source": "replay",
            "reopen_min_s": 1.0,
            "replay": {"path": FRAMES_DIR, "fps": REPLAY_FPS, "loop": True},
        }
        table.setdefault("lights", {})["pins"] = "mock"
        write = "import sys; open(sys.argv[1], 'w').write(sys.argv[2])"
        guest.run("python3", "-c", write, config, dumps(table), check=True)
        guest.run("umount", "/mnt", check=True)
        guest.run("sync", check=True)
        guest.send_poweroff()
        guest.wait_exit(timeout=600)
    finally:
        guest.close()
