"""sd_notify against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.run.notify import Notifier, watchdog_interval


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(5)
    yield path, sock
    sock.close()


@pytest.fixture
def abstract_socket() -> Iterator[tuple[str, socket.socket]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"checkpoint-scanner-test-{uuid.uuid4().hex}"
    sock.bind("\0" + name)
    sock.settimeout(5)
    yield "@" + name, sock
    sock.close()


def test_messages_reach_a_path_socket_as_exact_bytes(
    path_socket: tuple[str, socket.socket],
) -> None:
    address, receiver = path_socket
    with Notifier({"NOTIFY_SOCKET": address}) as notifier:
        assert notifier.enabled
        assert notifier.ready()
        assert notifier.watchdog()
        assert notifier.status("scanning: 3 decisions, trust v7")
        assert notifier.stopping()
    assert receiver.recv(4096) == b"READY=1"
    assert receiver.recv(4096) == b"WATCHDOG=1"
    assert receiver.recv(4096) == b"STATUS=scanning: 3 decisions, trust v7"
    assert receiver.recv(4096) == b"STOPPING=1"


def test_messages_reach_an_abstract_socket(abstract_socket: tuple[str, socket.socket]) -> None:
    address, receiver = abstract_socket
    with Notifier({"NOTIFY_SOCKET": address}) as notifier:
        assert notifier.ready()
    assert receiver.recv(4096) == b"READY=1"


def test_status_is_kept_to_one_line(path_socket: tuple[str, socket.socket]) -> None:
    address, receiver = path_socket
    with Notifier({"NOTIFY_SOCKET": address}) as notifier:
        notifier.status("camera lost\nREADY=1")
    assert receiver.recv(4096) == b"STATUS=camera lost READY=1"


def test_status_is_utf8(path_socket: tuple[str, socket.socket]) -> None:
    address, receiver = path_socket
    with Notifier({"NOTIFY_SOCKET": address}) as notifier:
        notifier.status("Grenzübergang Süd")
    assert receiver.recv(4096) == "STATUS=Grenzübergang Süd".encode()


def test_several_assignments_go_in_one_datagram(path_socket: tuple[str, socket.socket]) -> None:
    address, receiver = path_socket
    with Notifier({"NOTIFY_SOCKET": address}) as notifier:
        notifier.send("READY=1", "STATUS=up")
    assert receiver.recv(4096) == b"READY=1\nSTATUS=up"


def test_without_notify_socket_every_call_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()
    assert not notifier.status("x")
    assert not notifier.stopping()
    notifier.close()


def test_the_environment_is_read_only_at_construction(
    path_socket: tuple[str, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, receiver = path_socket
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    notifier = Notifier()
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert notifier.ready()
    assert receiver.recv(4096) == b"READY=1"
    notifier.close()


def test_a_relative_or_unknown_address_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="scanner.run.notify"):
        notifier = Notifier({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert not notifier.ready()
    assert "unsupported NOTIFY_SOCKET" in caplog.text


def test_a_missing_listener_never_raises_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger="scanner.run.notify"),
        Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody")}) as notifier,
    ):
        assert not notifier.ready()
        assert not notifier.watchdog()
        assert not notifier.watchdog()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1


def test_a_closed_notifier_is_a_no_op(path_socket: tuple[str, socket.socket]) -> None:
    address, _ = path_socket
    notifier = Notifier({"NOTIFY_SOCKET": address})
    notifier.close()
    notifier.close()
    assert not notifier.ready()


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "10000000"}) == 5.0
    assert watchdog_interval({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}) == 5.0


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"WATCHDOG_USEC": ""},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "soon"},
        {"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid() + 1)},
    ],
)
def test_no_watchdog_interval_when_unset_invalid_or_for_another_process(
    environ: dict[str, str],
) -> None:
    assert watchdog_interval(environ) is None
