"""One QEMU guest booted from the lab image: console, agent, power cut.

TCG only (this machine's /dev/kvm is a nested kvm_pvm no stock kernel runs
on), no network device at all (-nic none), -no-reboot so a reboot the guest
asks for ends QEMU where the test can see it, and an i6300esb for systemd's
hardware watchdog. The console (kernel and journal) goes to a file; the agent
talks JSON lines on the second serial port, never mixed with the console.
"""

from __future__ import annotations

import itertools
import json
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab_image import LabImage

QEMU = shutil.which("qemu-system-x86_64")
QEMU_ARM64 = shutil.which("qemu-system-aarch64")
QEMU_IMG = shutil.which("qemu-img")
COMMON_CMDLINE = (
    "root=/dev/vda rw panic=-1 net.ifnames=0 "
    "systemd.journald.forward_to_console=1 systemd.show_status=1"
)
# QEMU's virt machine: one PL011 UART (the console); the agent is on a virtio port.
ARM64_CMDLINE = f"console=ttyAMA0 {COMMON_CMDLINE}"
CMDLINE = (
    f"console=ttyS0,115200 {COMMON_CMDLINE} "
    # Drivers for what the lab does not use (-cpu max offers VMX/SVM, the pc machine
    # has IDE, PS/2, a speaker): under TCG each module loaded costs boot seconds.
    "modprobe.blacklist=kvm,kvm_intel,kvm_amd,powernow_k8,psmouse,pcspkr,floppy,ata_piix,"
    "ata_generic,pata_acpi,intel_agp,serio_raw,joydev,drm,bochs,qxl,cirrus,"
    # udev loads these for -cpu max's AES/CLMUL/AVX flags; their self-tests under TCG
    # kept udev busy past 100 s at load average 30, and `udevadm settle` waited for it.
    "aesni_intel,ghash_clmulni_intel,polyval_clmulni,sha1_ssse3,sha256_ssse3,sha512_ssse3,"
    "crc32_pclmul,crct10dif_pclmul,cryptd,i2c_piix4 "
    "i8042.noaux=1"
)


# Seconds each boot of this session took to the agent's first answer. Deadlines
# scale with them: a loaded host (minutes per TCG boot) gets long waits, an idle
# one (15-25 s) fails fast; the first boot, with nothing measured yet, gets FIRST_BOOT_S.
MEASURED: list[float] = []
MEASURED_ARM64: list[float] = []  # arm64 guests apart: their emulation costs more
FIRST_BOOT_S = 1200.0


def boot_deadline(arch: str = "x86_64") -> float:
    """How long a boot may take here: four times the slowest measured so far, at least 5 min."""
    measured = MEASURED_ARM64 if arch == "arm64" else MEASURED
    return max(300.0, 4 * max(measured)) if measured else FIRST_BOOT_S


class GuestError(AssertionError):
    """The guest did not do what the test waited for; carries the console's tail."""


@dataclass
class Result:
    rc: int
    out: str
    err: str


@dataclass
class Stream:
    """A command's output lines as they arrived on the host, with the host's time of arrival."""

    lines: list[tuple[float, str]] = field(default_factory=list)
    rc: int | None = None


class Guest:
    """A guest on its own qcow2 overlay of the lab image; boot() may be called again after a cut."""

    def __init__(
        self,
        image: LabImage,
        workdir: Path,
        *,
        state_disk: bool = False,
        memory_mib: int = 1024,
        extra_disk: Path | None = None,
        overlay: bool = True,
    ) -> None:
        """`overlay=False` writes to the image itself (the image builds); `extra_disk`: raw."""
        qemu = QEMU_ARM64 if image.arch == "arm64" else QEMU
        if qemu is None or QEMU_IMG is None:
            raise RuntimeError(f"qemu-system for {image.arch} and qemu-img are needed")
        self.qemu = qemu
        self.image = image
        self.workdir = workdir
        self.memory_mib = memory_mib
        self.disks: list[tuple[Path, str]] = []
        if overlay:
            self.disks.append((workdir / "root.qcow2", "qcow2"))
            subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", "-F", image.root_format,
                            "-b", str(image.root), str(self.disks[0][0])], check=True)  # fmt: skip
        else:
            self.disks.append((image.root, image.root_format))
        # An image build ends with a clean power-off and is renamed into the cache only
        # then, so it can ignore flushes (dpkg's fsyncs, thousands of them); a test's
        # overlay never does: its power cuts are the point.
        self.cache = "writeback" if overlay else "unsafe"
        if state_disk:  # blank: no partition table, no filesystem
            self.disks.append((workdir / "state.qcow2", "qcow2"))
            subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", str(self.disks[1][0]),
                            "256M"], check=True)  # fmt: skip
        if extra_disk is not None:
            self.disks.append((extra_disk, "raw"))
        self.console = workdir / "console.log"
        self.boots = 0
        self.boot_seconds = 0.0  # of the last boot, to the agent's first answer
        self._process: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._streams: dict[int, Stream] = {}
        self._ids = itertools.count(1)
        self._console_start = 0

    # -- life cycle ---------------------------------------------------------------------------

    def _command(self, agent: Path, kernel_args: tuple[str, ...]) -> list[str]:
        common = [
            "-nodefaults", "-accel", "tcg", "-smp", "2", "-m", str(self.memory_mib),
            "-nic", "none", "-no-reboot", "-display", "none", "-monitor", "none",
            "-kernel", str(self.image.kernel), "-initrd", str(self.image.initrd),
            "-chardev", f"file,id=con,path={self.console},append=on", "-serial", "chardev:con",
            "-chardev", f"socket,id=agent,path={agent},server=on,wait=off",
        ]  # fmt: skip
        if self.image.arch == "arm64":
            drives = []
            for n, (disk, fmt) in enumerate(self.disks):
                drives += ["-drive", f"file={disk},if=none,id=d{n},format={fmt},cache={self.cache}",
                           "-device", f"virtio-blk-device,drive=d{n}"]  # fmt: skip
            return [
                self.qemu, "-machine", "virt", "-cpu", "cortex-a72", *common, *drives,
                "-append", " ".join([ARM64_CMDLINE, *kernel_args]),
                "-device", "virtio-serial-device",
                "-device", "virtserialport,chardev=agent,name=lab.agent",
            ]  # fmt: skip
        drives = []
        for disk, fmt in self.disks:
            drives += ["-drive", f"file={disk},if=virtio,format={fmt},cache={self.cache}"]
        return [
            self.qemu, "-machine", "pc", "-cpu", "max", *common, *drives,
            "-append", " ".join([CMDLINE, *kernel_args]),
            "-device", "i6300esb", "-rtc", "base=utc", "-serial", "chardev:agent",
        ]  # fmt: skip

    def start(self, *kernel_args: str) -> Path:
        """Start QEMU (no waiting for the guest); returns the agent's socket path."""
        self.boots += 1
        self._console_start = self.console.stat().st_size if self.console.exists() else 0
        agent = self.workdir / "agent.sock"
        agent.unlink(missing_ok=True)
        with (self.workdir / "qemu.log").open("ab") as log:  # QEMU keeps its own copy
            self._process = subprocess.Popen(
                self._command(agent, kernel_args), stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
        return agent

    def boot(self, *kernel_args: str, timeout: float | None = None) -> float:
        """Start QEMU and wait for the agent; returns the seconds the boot took."""
        timeout = boot_deadline(self.image.arch) if timeout is None else timeout
        started = time.monotonic()
        agent = self.start(*kernel_args)
        assert self._process is not None
        deadline = time.monotonic() + 20
        while True:  # QEMU binds the socket before it listens: refused means "not yet"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(agent))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise GuestError(f"QEMU did not start: {(self.workdir / 'qemu.log').read_text()}")
            time.sleep(0.05)
        self._sock = sock
        threading.Thread(target=self._read, args=(self._sock,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:  # the agent drops requests sent before it opened the port: ask again
            try:
                self.run("true", timeout=1, wait=3)
            except GuestError:
                if time.monotonic() > deadline or not self.running:
                    why = "QEMU ended" if not self.running else f"no answer in {timeout:.0f} s"
                    raise GuestError(f"the guest's agent never answered ({why}; boots so far "
                                     f"{_seconds(MEASURED)})" + self.tail()) from None  # fmt: skip
                continue
            self.boot_seconds = time.monotonic() - started
            (MEASURED_ARM64 if self.image.arch == "arm64" else MEASURED).append(self.boot_seconds)
            return self.boot_seconds

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def power_cut(self) -> None:
        """kill -9 QEMU: what the guest had not written to its disk is gone."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
        self._disconnect()

    def wait_exit(self, timeout: float) -> int:
        """Wait for QEMU to end by itself (a guest reboot under -no-reboot); returns its status."""
        assert self._process is not None
        try:
            rc = self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GuestError(f"QEMU still running after {timeout:.0f} s" + self.tail()) from None
        self._disconnect()
        return rc

    def send_poweroff(self) -> None:
        """A clean shutdown, as the guest's own `systemctl poweroff` (QEMU then ends)."""
        self.spawn("systemctl", "poweroff")

    def close(self) -> None:
        self.power_cut()

    def _disconnect(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- agent ----------------------------------------------------------------------------------

    def _read(self, sock: socket.socket) -> None:
        buffer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                ident = message.get("id")
                if ident in self._streams:
                    stream = self._streams[ident]
                    if "line" in message:
                        stream.lines.append((time.monotonic(), message["line"]))
                    elif "rc" in message:
                        stream.rc = message["rc"]
                elif ident in self._replies and "rc" in message:
                    # Not our own request echoed back: until the agent has set its port
                    # raw, the guest's tty echoes what arrives (seen once at a boot).
                    self._replies[ident].put(message)

    def _send(self, message: dict[str, Any]) -> None:
        if self._sock is None:
            raise GuestError("no guest running")
        self._sock.sendall((json.dumps(message) + "\n").encode())

    def run(
        self, *argv: str, timeout: float = 60, check: bool = False, wait: float | None = None
    ) -> Result:
        """Run argv in the guest as root; returns its status and output."""
        wait = timeout + 10 if wait is None else wait
        ident = next(self._ids)
        replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._replies[ident] = replies
        try:
            self._send({"id": ident, "run": list(argv), "timeout": timeout})
            deadline = time.monotonic() + wait
            while True:  # in slices: a guest that reset or powered off answers nothing
                try:
                    reply = replies.get(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
                    break
                except queue.Empty:
                    if not self.running:
                        raise GuestError(f"QEMU ended while {argv[:3]} ran" + self.tail()) from None
                    if time.monotonic() >= deadline:
                        raise GuestError(f"no answer to {argv[:3]} in {wait:.0f} s") from None
        finally:
            del self._replies[ident]
        result = Result(reply["rc"], reply["out"], reply["err"])
        if check and result.rc != 0:
            raise GuestError(f"{argv} exited {result.rc}: {result.out}{result.err}")
        return result

    def spawn(self, *argv: str) -> Stream:
        """Start argv in the guest; its output lines arrive in the returned Stream."""
        ident = next(self._ids)
        stream = Stream()
        self._streams[ident] = stream
        self._send({"id": ident, "spawn": list(argv)})
        return stream

    # -- what a user sees -----------------------------------------------------------------------

    def console_text(self) -> str:
        """The console since this boot began."""
        with self.console.open("rb") as f:
            f.seek(self._console_start)
            return f.read().decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match[str]:
        """Wait until the console of this boot matches `pattern` (a regex)."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = compiled.search(self.console_text())
            if found:
                return found
            if time.monotonic() > deadline:
                raise GuestError(f"no {pattern!r} on the console in {timeout:.0f} s" + self.tail())
            if not self.running:
                raise GuestError(f"QEMU ended before {pattern!r} appeared" + self.tail())
            time.sleep(0.2)

    def tail(self, n: int = 40) -> str:
        return "\n--- console tail ---\n" + "\n".join(self.console_text().splitlines()[-n:])

    def unit(self, *props: str) -> dict[str, str]:
        """systemctl show of the scanner service."""
        out = self.run("systemctl", "show", "checkpoint-scanner.service",
                       *(f"--property={p}" for p in props), check=True).out  # fmt: skip
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_active(self, timeout: float | None = None) -> float:
        """Wait until the service is active (READY=1 sent: Type=notify); returns the seconds."""
        timeout = boot_deadline(self.image.arch) if timeout is None else timeout
        started = time.monotonic()
        deadline = started + timeout
        while (state := self.unit("ActiveState")["ActiveState"]) != "active":
            if time.monotonic() > deadline:
                raise GuestError(f"the scanner never became active in {timeout:.0f} s (last "
                                 f"{state})" + self.journal_tail() + self.tail(15))  # fmt: skip
            time.sleep(2)
        return time.monotonic() - started

    def journal_tail(self, n: int = 30) -> str:
        out = self.run("journalctl", "-b", "-u", "checkpoint-scanner", "-n", str(n),
                       "--no-pager").out  # fmt: skip
        return "\n--- journal ---\n" + out

    def sql(self, query: str, database: str = "/var/lib/checkpoint-scanner/outbox.sqlite3") -> Any:
        """A read-only query on a SQLite file in the guest (the venv's Python), as JSON."""
        script = (
            "import json, sqlite3, sys\n"
            "db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n"
            "print(json.dumps(db.execute(sys.argv[2]).fetchall()))\n"
        )
        python = "/opt/checkpoint-scanner/venv/bin/python"
        out = self.run(python, "-c", script, database, query, check=True).out
        return json.loads(out)


@contextmanager
def booted_guest(image: LabImage, workdir: Path) -> Iterator[Guest]:
    """A guest booted to an active service, powered off (kill -9) when done or on failure."""
    guest = Guest(image, workdir)
    try:
        guest.boot()
        guest.wait_active()
        yield guest
    finally:
        guest.close()


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values) + " s" if values else "none"
