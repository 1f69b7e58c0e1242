"""The scan loop around a real stuck reader thread: the watchdog stops and one alert is kept.

Every other supervision rule (backoff, one alert per outage, giving up) is
tested on the pure state machine in test_supervision.py, without real time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from support.app import Site, committed_alerts, prepare

from scanner.app import App
from scanner.camera.base import Frame
from scanner.camera.config import SyntheticConfig
from scanner.config.load import CameraSection, Config
from scanner.errors import SourceError

GIVE_UP_WITHIN_S = 20.0  # generous bound for the loop to reach its verdict on the camera


class HungCamera:
    """A camera stand-in whose read never returns until the test releases it (a stuck driver)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def open(self) -> None:
        """Opening works; the frames never come."""

    def read(self) -> Frame:
        self.release.wait(60)
        raise SourceError("released")

    def close(self) -> None:
        """Nothing to release."""


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.05)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # pet every 50 ms
    yield sock
    sock.close()


def watchdog_pets(sock: socket.socket, seconds: float) -> int:
    """WATCHDOG=1 datagrams that arrive within `seconds`."""
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            count += b"WATCHDOG=1" in sock.recv(4096)
        except TimeoutError:
            continue
    return count


def quiet_after(sock: socket.socket, within: float) -> bool:
    """True once a whole second passes with no watchdog pet, within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if watchdog_pets(sock, 1.0) == 0:
            return True
    return False


def camera_config(site: Site) -> Config:
    camera = CameraSection(
        source="synthetic",
        reopen_min_s=0.01,
        reopen_max_s=0.05,
        stall_s=0.3,
        synthetic=SyntheticConfig(texts=("unused",)),
    )
    return site.config(camera)


def run_app(config: Config, source: object) -> tuple[App, threading.Event, threading.Thread]:
    app = App(config, source=source, pin_factory=MockFactory())  # type: ignore[arg-type]
    app.start()
    stop = threading.Event()
    thread = threading.Thread(target=app.run, args=(stop,), name="test-scan-loop")
    thread.start()
    return app, stop, thread


def test_a_camera_read_stuck_in_the_driver_stops_the_watchdog_and_alerts_once(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    site = prepare(tmp_path)
    camera = HungCamera()
    app, stop, thread = run_app(camera_config(site), camera)
    try:
        assert watchdog_pets(notify_socket, 0.6) > 0  # alive while the camera is young
        assert quiet_after(notify_socket, GIVE_UP_WITHIN_S)
    finally:
        stop.set()
        camera.release.set()
        thread.join(10)
        app.stop()
    assert not thread.is_alive()
    faults = [
        a for a in committed_alerts(site.state / "outbox.sqlite3") if a["code"] == "camera_fault"
    ]
    assert len(faults) == 1
