"""Shared helpers and fixtures for the daemon end-to-end tests (test_app*.py, test_scanloop.py).

Frames come from a ReplaySource over PNGs of real signed sample passes; the
lights are the real GpioIndicator on gpiozero's MockFactory; the outbox is the
SQLite file in the state directory; MQTT is a private Mosquitto; systemd is a
datagram socket the test binds.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory, MockPin
from nacl.signing import SigningKey

from scanner.app import App
from scanner.camera.config import ReplayConfig
from scanner.config.load import (
    CameraSection,
    Config,
    DecoderSection,
    DeviceSection,
    MqttSection,
    TrustSection,
)
from scanner.decide.step import Decision
from scanner.demo import samples
from scanner.formats.qrimage import render_qr
from scanner.lights.gpio import GpioIndicator
from scanner.lights.signals import LightsConfig
from scanner.outbox.queue import OUTBOX_FILENAME
from scanner.trust.identity import device_id_for
from scanner.trust.keys import public_key_text, write_private_key
from scanner.trust.store import TrustStore

GREEN, RED, AMBER, BUZZER = 17, 27, 22, 18
WAIT_S = 15.0  # bounded waits for something to happen; only a hang reaches them
TOPIC_ROOT = "checkpoint/v1"

# Short holds, so one verdict's lamp is off again before the next pass arrives.
LIGHTS = LightsConfig(
    green_pin=GREEN,
    red_pin=RED,
    amber_pin=AMBER,  # fitted: the status patterns use amber only, green/red mean verdicts
    buzzer_pin=BUZZER,
    accept_hold_s=0.15,
    reject_hold_s=0.15,
    test_card_hold_s=0.15,
    identify_s=2.5,
    short_beep_s=0.05,
    long_beep_s=0.1,
)


# -- the site: keys, trust store, identity, frames ----------------------------------------


@dataclass
class Site:
    """A provisioned unit's files, as scanner/demo/daemon.py's _prepare lays them out."""

    directory: Path
    sample_set: samples.SampleSet
    root_pub: Path
    state: Path
    device_key: SigningKey
    sync_flag: Path

    @property
    def device_id(self) -> str:
        return device_id_for(self.device_key.verify_key)

    @property
    def outbox_file(self) -> Path:
        return self.state / OUTBOX_FILENAME

    def text(self, name: str) -> str:
        return self.sample_set.by_name(name).text

    def config(
        self,
        camera: CameraSection,
        mqtt_section: MqttSection | None = None,
        lights: LightsConfig = LIGHTS,
        **device: object,
    ) -> Config:
        return Config(
            device=DeviceSection(checkpoint_id="CP-TEST", state_dir=self.state, **device),  # type: ignore[arg-type]
            trust=TrustSection(root_pub=self.root_pub, sync_flag=self.sync_flag),
            camera=camera,
            decoder=DecoderSection(debounce_gap_s=3.0),
            lights=lights,
            mqtt=mqtt_section,
        )


def prepare(directory: Path) -> Site:
    now = int(time.time())
    sample_set = samples.build(now)
    root_pub = directory / "root.pub"
    root_pub.write_text(public_key_text(sample_set.keys.root.verify_key))
    state = directory / "state"
    TrustStore.initialise(state / "trust", sample_set.keys.root.verify_key, sample_set.bundle)
    TrustStore(state / "trust", sample_set.keys.root.verify_key).apply_revocations(
        sample_set.revocations
    )
    device_key = SigningKey.generate()
    (state / "identity").mkdir(parents=True)
    write_private_key(state / "identity" / "device.key", device_key)
    sync_flag = directory / "synced"
    sync_flag.touch()  # NTP has synchronised the clock: the background is IDLE, not DEGRADED
    return Site(directory, sample_set, root_pub, state, device_key, sync_flag)


@pytest.fixture(name="site")
def fixture_site(tmp_path: Path) -> Site:
    return prepare(tmp_path)


def frame_with(text: str | None) -> np.ndarray:
    """A 480x640 grey frame, blank or with the QR of `text` in the middle."""
    frame = np.full((480, 640), 235, dtype=np.uint8)
    if text is not None:
        code = render_qr(text, scale=4)
        h, w = code.shape
        top, left = (480 - h) // 2, (640 - w) // 2
        frame[top : top + h, left : left + w] = code
    return frame


def write_frames(directory: Path, shown: list[str | None]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    cache: dict[str | None, np.ndarray] = {}
    for i, text in enumerate(shown):
        if text not in cache:
            cache[text] = frame_with(text)
        assert cv2.imwrite(str(directory / f"{i:04d}.png"), cache[text])
    return directory


def presentation(texts: list[str], copies: int = 8, gap: int = 6) -> list[str | None]:
    """Each text in view for `copies` frames after `gap` blank frames, then a last gap."""
    shown: list[str | None] = []
    for text in texts:
        shown += [None] * gap + [text] * copies
    return shown + [None] * gap


def replay_camera(path: Path, *, loop: bool) -> CameraSection:
    return CameraSection(
        source="replay",
        reopen_min_s=0.05,
        reopen_max_s=0.2,
        replay=ReplayConfig(path=path, fps=40.0, realtime=True, loop=loop),
    )


# -- the other side: pins that look at the outbox when a lamp lights ------------------------


class WatchedFactory(MockFactory):  # type: ignore[misc]
    """gpiozero's MockFactory whose pins call `on_change(pin, state)` on every change."""

    def __init__(self) -> None:
        super().__init__(pin_class=WatchedPin)
        self.on_change: Callable[[int, bool], None] = lambda pin, state: None


class WatchedPin(MockPin):  # type: ignore[misc]
    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if changed:
            self.factory.on_change(int(self.info.name.removeprefix("GPIO")), bool(value))
        return changed


def committed_scans(outbox_file: Path) -> list[dict[str, object]]:
    """Scan events committed to the outbox, as another process would read them."""
    if not outbox_file.exists():
        return []
    db = sqlite3.connect(f"file:{outbox_file}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT body FROM events WHERE kind = 'scan' ORDER BY seq").fetchall()
    finally:
        db.close()
    return [json.loads(body) for (body,) in rows]


def committed_alerts(outbox_file: Path) -> list[dict[str, object]]:
    db = sqlite3.connect(f"file:{outbox_file}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT body FROM events WHERE kind = 'alert' ORDER BY seq").fetchall()
    finally:
        db.close()
    return [json.loads(body) for (body,) in rows]


@dataclass
class LampLog:
    """Each time green or red lit: which, and what the outbox held at that moment."""

    outbox_file: Path
    lit: list[tuple[int, list[dict[str, object]]]] = field(default_factory=list)

    def __call__(self, pin: int, state: bool) -> None:
        if state and pin in (GREEN, RED):
            self.lit.append((pin, committed_scans(self.outbox_file)))


@dataclass
class Decisions:
    made: list[Decision] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, decision: Decision) -> None:
        with self.cond:
            self.made.append(decision)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = WAIT_S) -> list[Decision]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.made) >= count, timeout), self.made
            return list(self.made)


@dataclass
class Running:
    app: App
    stop: threading.Event
    thread: threading.Thread

    def gpio_indicator(self) -> GpioIndicator:
        """The lights the App built on the mock pins."""
        indicator = self.app.indicator
        assert isinstance(indicator, GpioIndicator)
        return indicator


@pytest.fixture(name="start_app")
def fixture_start_app() -> Iterator[Callable[..., Running]]:
    """Start an App and run its loop on a thread; stopped and torn down at the end."""
    running: list[Running] = []

    def start(config: Config, **kwargs: object) -> Running:
        app = App(config, **kwargs)  # type: ignore[arg-type]
        try:
            app.start()
        except BaseException:
            app.stop()
            raise
        stop = threading.Event()
        thread = threading.Thread(target=app.run, args=(stop,), name="test-scan-loop")
        thread.start()
        running.append(Running(app, stop, thread))
        return running[-1]

    yield start
    for r in running:
        r.stop.set()
        r.thread.join(WAIT_S)
        r.app.stop()
