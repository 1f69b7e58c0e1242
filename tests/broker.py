"""A private Mosquitto for tests (own config and port, signalled only by PID) and a receiver."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

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
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
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
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts TCP connections."""
        if self.running:
            return
        self._write_config()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
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


class Receiver:
    """The central side in miniature: subscribes to devices' scans and checks what arrives."""

    def __init__(
        self,
        port: int,
        topic_root: str = "checkpoint/v1",
        client_id: str = "central",
        *,
        persistent: bool = False,
    ) -> None:
        self.topic_root = topic_root
        self._lock = threading.Condition()
        self.batches: list[dict[str, object]] = []
        self.raw: list[tuple[str, bytes, list[tuple[str, str]]]] = []
        self.seq_counts: dict[tuple[str, int], int] = {}
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(0.1, 0.5)
        if persistent:
            # A session that outlives the connection (and, with persistence, the
            # broker): QoS 1 messages published meanwhile are queued for it.
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            self._client.connect(
                "127.0.0.1", port, keepalive=10, clean_start=False, properties=props
            )
        else:
            self._client.connect("127.0.0.1", port, keepalive=10)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("receiver did not subscribe")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        client.subscribe(f"{self.topic_root}/devices/+/#", qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # type: ignore[no-untyped-def]
        self._subscribed.set()

    def _on_message(self, client, userdata, msg) -> None:  # type: ignore[no-untyped-def]
        props = list(getattr(msg.properties, "UserProperty", []) or [])
        with self._lock:
            self.raw.append((msg.topic, bytes(msg.payload), props))
            if msg.topic.endswith("/scans"):
                document = json.loads(msg.payload)
                self.batches.append(document)
                for event in document["events"]:
                    key = (document["device_id"], event["seq"])
                    self.seq_counts[key] = self.seq_counts.get(key, 0) + 1
                    if event["kind"] == "shed":
                        for seq in range(event["seq"] + 1, event["through"] + 1):
                            shed_key = (document["device_id"], seq)
                            self.seq_counts[shed_key] = self.seq_counts.get(shed_key, 0) + 1
            self._lock.notify_all()

    def seqs(self, device_id: str) -> set[int]:
        with self._lock:
            return {seq for (device, seq) in self.seq_counts if device == device_id}

    def wait_for_seqs(self, device_id: str, wanted: set[int], timeout: float = 30.0) -> bool:
        """Bounded wait until every wanted sequence number arrived."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not wanted <= {s for (d, s) in self.seq_counts if d == device_id}:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def messages_on(self, suffix: str) -> list[tuple[str, bytes, list[tuple[str, str]]]]:
        with self._lock:
            return [entry for entry in self.raw if entry[0].endswith(suffix)]

    def wait_for_message(self, suffix: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not any(entry[0].endswith(suffix) for entry in self.raw):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
