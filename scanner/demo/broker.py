"""A private Mosquitto on a free loopback port, for the demo, benchmarks and tests.

Own config, own port, stopped or killed only by the PID it started: the
system broker on 1883 is never touched.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str | None:
    """Path of a mosquitto binary, or None when this machine has none."""
    for candidate in MOSQUITTO_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("mosquitto")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (never 1883: the system broker's)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port != 1883:
            return port


class Broker:
    """One Mosquitto process on 127.0.0.1:port that can be stopped, killed and restarted."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        message_size_limit: int | None = None,
        persistence: bool = False,
        acl: str | None = None,
        binary: str | None = None,
    ) -> None:
        found = binary or find_mosquitto()
        if found is None:
            raise FileNotFoundError("no mosquitto binary on this machine")
        self.binary = found
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port if port is not None else free_port()
        self.message_size_limit = message_size_limit
        self.persistence = persistence
        self.acl = acl
        self.process: subprocess.Popen[bytes] | None = None
        self.config_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        """The broker's URL for the uplink (mqtt://127.0.0.1:PORT)."""
        return f"mqtt://127.0.0.1:{self.port}"

    def listener_lines(self) -> list[str]:
        """The listeners; a TLS test broker replaces this plain one."""
        return [f"listener {self.port} 127.0.0.1"]

    def auth_lines(self) -> list[str]:
        """Who may log in; a test broker with a password file replaces this."""
        return ["allow_anonymous true"]

    def config_lines(self) -> list[str]:
        """The whole mosquitto.conf, one setting a line."""
        lines = [
            *self.listener_lines(),
            *self.auth_lines(),
            # Started as root, mosquitto drops to user "mosquitto", which cannot
            # read a private temp dir; as anyone else this line changes nothing.
            f"user {getpass.getuser()}",
            # Mosquitto drops silently past 1000 queued messages per client; a test
            # receiver must never lose what the broker accepted.
            "max_queued_messages 0",
            "max_inflight_messages 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if self.message_size_limit is not None:
            lines.append(f"message_size_limit {self.message_size_limit}")
        if self.acl is not None:
            acl_path = self.workdir / "acl"
            acl_path.write_text(self.acl)
            lines.append(f"acl_file {acl_path}")
        if self.persistence:
            lines += [
                "persistence true",
                f"persistence_location {self.workdir}/",
                "autosave_interval 0",
            ]
        return lines

    def _write_config(self) -> None:
        self.config_path.write_text("\n".join(self.config_lines()) + "\n")

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts TCP connections."""
        if self.running:
            return
        self._write_config()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [self.binary, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise TimeoutError(f"mosquitto did not listen on {self.port}")

    @property
    def running(self) -> bool:
        """Whether the Mosquitto this object started is still running."""
        return self.process is not None and self.process.poll() is None

    def _signal(self, signum: int, timeout: float) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            # Only ever the PID this object started; never a name-based kill.
            os.kill(process.pid, signum)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout)
        self.process = None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: a clean shutdown (with persistence, the broker saves its sessions)."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL: the broker vanishes without closing anything."""
        self._signal(signal.SIGKILL, timeout)

    def restart(self) -> None:
        """Stop, then start again on the same port."""
        self.stop()
        self.start()
