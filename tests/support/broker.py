"""Private Mosquittos for tests (own config and port, signalled only by PID) and a receiver.

``Broker`` listens in clear; ``TlsBroker`` adds a TLS listener and a mutual-TLS
one with certificates from ``pki.Pki``, and optionally a password file and ACL.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from scanner.demo.broker import Broker, find_mosquitto, free_port
from support.pki import CertPair, Pki
from support.waiting import wait_until

__all__ = ["Broker", "Receiver", "TlsBroker", "find_mosquitto", "free_port"]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class TlsBroker(Broker):
    """Mosquitto with TLS on ``port``, mutual TLS on ``mtls_port`` and clear text on ``plain_port``.

    The clear listener is for the test's own observer (``Receiver``); units are
    pointed at ``url`` or ``mtls_url``. The mutual-TLS listener takes the client
    certificate's CN as the username, so the ACL applies to it as to a password login.
    """

    def __init__(
        self,
        workdir: Path,
        pki: Pki,
        server: CertPair | None = None,
        *,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(workdir, **kwargs)  # type: ignore[arg-type]
        self.pki = pki
        self.server = server or pki.server()
        self.mtls_port = free_port()
        self.plain_port = free_port()
        self.password_file = password_file
        self.acl_file = acl_file

    def start(self, timeout: float = 10.0) -> None:
        """Start, and wait until every listener, not only the first, accepts connections."""
        super().start(timeout)
        for port in (self.mtls_port, self.plain_port):
            if not wait_until(lambda p=port: _listening(p), timeout):  # type: ignore[misc]
                self.kill()
                raise TimeoutError(f"mosquitto did not listen on {port}")

    @property
    def url(self) -> str:
        return f"mqtts://localhost:{self.port}"

    @property
    def mtls_url(self) -> str:
        return f"mqtts://localhost:{self.mtls_port}"

    def listener_lines(self) -> list[str]:
        tls = [
            f"cafile {self.pki.ca_file}",
            f"certfile {self.server.cert}",
            f"keyfile {self.server.key}",
        ]
        return [
            f"listener {self.port} 127.0.0.1",
            *tls,
            f"listener {self.mtls_port} 127.0.0.1",
            *tls,
            "require_certificate true",
            "use_identity_as_username true",
            f"listener {self.plain_port} 127.0.0.1",
        ]

    def auth_lines(self) -> list[str]:
        lines = []
        if self.password_file is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        return lines


class Receiver:
    """The central side in miniature: subscribes to devices' scans and checks what arrives."""

    def __init__(
        self,
        port: int,
        topic_root: str = "checkpoint/v1",
        client_id: str = "central",
        *,
        persistent: bool = False,
        username: str | None = None,
        password: str | None = None,
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
        if username is not None:
            self._client.username_pw_set(username, password)
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
