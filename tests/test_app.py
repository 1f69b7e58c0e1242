"""The daemon end to end: the real App from a Config, faking only the other side.

Frames come from a ReplaySource over PNGs of real signed sample passes; the
lights are the real GpioIndicator on gpiozero's MockFactory; the outbox is the
SQLite file in the state directory; MQTT is a private Mosquitto; systemd is a
datagram socket the test binds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from broker import Broker, Receiver
from gpiozero.pins.mock import MockFactory, MockPin
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion

from scanner import samples
from scanner.app import App, StartupError
from scanner.camera.replay import ReplayConfig
from scanner.commands import Action, Command, encode_command
from scanner.config import (
    CameraSection,
    Config,
    DecoderSection,
    DeviceSection,
    MqttSection,
    OutboxSection,
    TrustSection,
)
from scanner.identity import device_id_for
from scanner.lights.gpio import GpioIndicator, LampState
from scanner.lights.signals import DeviceState, LightsConfig
from scanner.model import Reason
from scanner.outbox import OUTBOX_FILENAME
from scanner.pipeline import Decision
from scanner.qrimage import render_qr
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.keys import public_key_text, write_private_key
from scanner.trust.store import REVOCATIONS_FILE, TrustStore
from scanner.uplink import signing
from scanner.uplink.topics import Topics

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
    """A provisioned unit's files, as scanner/demo_daemon.py's _prepare lays them out."""

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


@pytest.fixture
def site(tmp_path: Path) -> Site:
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
        assert self.app.loop is not None
        indicator = self.app.loop.indicator
        assert isinstance(indicator, GpioIndicator)
        return indicator


@pytest.fixture
def start_app() -> Iterator[Callable[..., Running]]:
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


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# -- decisions, lights and the outbox ---------------------------------------------------------


def test_passes_on_camera_light_green_or_red_and_each_decision_is_committed_first(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(
        site.directory / "frames",
        presentation([site.text("valid"), site.text("revoked"), site.text("not-a-pass")]),
    )
    factory = WatchedFactory()
    lamps = LampLog(site.outbox_file)
    factory.on_change = lamps
    decisions = Decisions()
    run = start_app(
        site.config(replay_camera(frames, loop=False)), pin_factory=factory, on_decision=decisions
    )
    made = decisions.wait_for(3)
    run.stop.set()
    run.thread.join(WAIT_S)

    verdicts = [d.verdict for d in made[:3]]
    assert [v.accepted for v in verdicts] == [True, False, False]
    assert [v.reason for v in verdicts] == [None, Reason.REVOKED, Reason.NOT_A_PASS]
    assert all(d.logged for d in made[:3])

    greens = [rows for pin, rows in lamps.lit if pin == GREEN]
    reds = [rows for pin, rows in lamps.lit if pin == RED]
    assert greens, "green never lit for the valid pass"
    assert reds, "red never lit for the rejects"
    # Durable before visible: when a lamp lit, the decision it showed was already on disk.
    assert {"outcome": "accept", "pass_id": "P-000001"}.items() <= greens[0][-1].items()
    assert reds[0][-1]["reason"] == "revoked"
    assert any(rows and rows[-1]["reason"] == "not_a_pass" for rows in reds)
    for rows in greens:
        assert any(r["outcome"] == "accept" for r in rows)
    for rows in reds:
        assert any(r["outcome"] == "reject" for r in rows)

    scans = committed_scans(site.outbox_file)
    assert [(s["outcome"], s["reason"], s["pass_id"]) for s in scans[:3]] == [
        ("accept", None, "P-000001"),
        ("reject", "revoked", "P-000666"),
        ("reject", "not_a_pass", None),
    ]
    assert all(s["device_id"] == site.device_id for s in scans)
    assert all(s["checkpoint_id"] == "CP-TEST" for s in scans)


def test_state_directory_never_holds_a_holder_name_or_raw_qr_text(
    site: Site, start_app: Callable[..., Running]
) -> None:
    shown = ["valid", "revoked", "not-a-pass", "forged"]
    frames = write_frames(
        site.directory / "frames", presentation([site.text(n) for n in shown], copies=6, gap=4)
    )
    decisions = Decisions()
    run = start_app(
        site.config(replay_camera(frames, loop=False)),
        pin_factory=MockFactory(),
        on_decision=decisions,
    )
    decisions.wait_for(4)
    run.stop.set()
    run.thread.join(WAIT_S)
    run.app.stop()  # close the outbox: everything in the WAL is on disk too

    stored = b"".join(p.read_bytes() for p in site.state.rglob("*") if p.is_file())
    assert len(committed_scans(site.outbox_file)) >= 4
    forbidden = ["NGUYỄN VĂN AN", "TRAN THI B", "TRAN THI C", "https://example.org/menu"]
    forbidden += [site.text(n)[:40] for n in shown if site.text(n).startswith("CP1:")]
    for text in forbidden:
        assert text.encode() not in stored, text
        assert text.encode("utf-16-le") not in stored, text


def test_pin_history_shows_green_steady_and_red_flashing(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(
        site.directory / "frames", presentation([site.text("valid"), site.text("expired")])
    )
    factory = MockFactory()
    decisions = Decisions()
    run = start_app(
        site.config(replay_camera(frames, loop=False)), pin_factory=factory, on_decision=decisions
    )
    decisions.wait_for(2)
    indicator = run.gpio_indicator()
    assert wait_until(lambda: not indicator.lamps().red)
    green = [s.state for s in factory.pin(GREEN).states]
    red = [s.state for s in factory.pin(RED).states]
    buzzer = [s.state for s in factory.pin(BUZZER).states]
    assert True in green
    assert True in red
    assert True in buzzer  # a beep with each verdict
    assert factory.pin(AMBER).states[-1].state is False  # healthy unit: no status pattern


# -- the camera fails and comes back ----------------------------------------------------------


def test_camera_fault_shows_fault_pattern_alerts_and_recovers_without_restart(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(
        site.directory / "frames", presentation([site.text("valid")], copies=6, gap=6)
    )
    away = site.directory / "frames-unplugged"
    factory = MockFactory()
    decisions = Decisions()
    run = start_app(
        site.config(replay_camera(frames, loop=True)), pin_factory=factory, on_decision=decisions
    )
    indicator = run.gpio_indicator()
    decisions.wait_for(1)
    assert indicator.state is DeviceState.IDLE

    frames.rename(away)  # the camera is gone: reads and reopens fail
    assert wait_until(lambda: indicator.state is DeviceState.FAULT)
    assert wait_until(lambda: factory.pin(AMBER).state)  # FAULT blinks the status lamp
    assert any(a["code"] == "camera_fault" for a in committed_alerts(site.outbox_file))
    time.sleep(0.5)  # several reopen attempts (0.05-0.2 s backoff) fail meanwhile
    assert indicator.state is DeviceState.FAULT
    assert len(decisions.made) == 1
    assert [a["code"] for a in committed_alerts(site.outbox_file)].count("camera_fault") == 1

    away.rename(frames)  # plugged back in
    decisions.wait_for(2)
    assert wait_until(lambda: indicator.state is DeviceState.IDLE)
    assert wait_until(lambda: not factory.pin(AMBER).state)
    assert run.thread.is_alive()
    codes = [a["code"] for a in committed_alerts(site.outbox_file)]
    assert codes.index("camera_fault") < codes.index("camera_recovered")
    assert decisions.made[1].verdict.accepted


# -- stopping -------------------------------------------------------------------------------


def test_run_returns_soon_after_the_stop_event_is_set(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(site.directory / "frames", presentation([site.text("valid")]))
    run = start_app(site.config(replay_camera(frames, loop=True)), pin_factory=MockFactory())
    time.sleep(0.3)
    run.stop.set()
    run.thread.join(5.0)
    assert not run.thread.is_alive()
    run.app.stop()
    run.app.stop()  # idempotent


def _config_file(site: Site, path: Path, extra: str = "") -> Path:
    valid = json.dumps(site.text("valid"))
    path.write_text(
        f"""
[device]
checkpoint_id = "CP-SUB"
state_dir = {json.dumps(str(site.state))}

[trust]
root_pub = {json.dumps(str(site.root_pub))}
sync_flag = {json.dumps(str(site.sync_flag))}

[camera]
source = "synthetic"
reopen_min_s = 0.05
reopen_max_s = 0.2

[camera.synthetic]
texts = [{valid}]
realtime = true
loop = true
fps = 20

[lights]
green_pin = 17
red_pin = 27
{extra}
"""
    )
    return path


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A systemd-like notify socket in the abstract namespace (no path length limit)."""
    name = f"checkpoint-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(0.2)
    yield sock, "@" + name
    sock.close()


def _datagrams_until(
    sock: socket.socket, done: Callable[[list[str]], bool], timeout: float = WAIT_S
) -> list[str]:
    received: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(received):
        try:
            received.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return received


def _subprocess_env(notify: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["GPIOZERO_PIN_FACTORY"] = "mock"  # no GPIO here; the daemon falls back to mock pins
    env.pop("WATCHDOG_PID", None)
    env.pop("WATCHDOG_USEC", None)
    if notify is not None:
        env["NOTIFY_SOCKET"] = notify
        env["WATCHDOG_USEC"] = "1000000"  # as WatchdogSec=1: a ping every 0.5 s
    return env


def test_run_command_notifies_systemd_pets_the_watchdog_and_exits_0_on_sigterm(
    site: Site, tmp_path: Path, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, address = notify_socket
    config = _config_file(site, tmp_path / "scanner.toml")
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner.cli", "run", "--config", str(config)],
        env=_subprocess_env(address),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        received = _datagrams_until(
            sock,
            lambda got: (
                "READY=1" in got
                and "WATCHDOG=1" in got
                and any(g.startswith("STATUS=") for g in got)
            ),
        )
        assert "READY=1" in received
        assert "WATCHDOG=1" in received  # petted by the scan loop while frames arrive
        status = next(g for g in received if g.startswith("STATUS="))
        assert "decisions" in status
        process.send_signal(signal.SIGTERM)
        assert process.wait(5.0) == 0
        after = _datagrams_until(sock, lambda got: "STOPPING=1" in got, timeout=1.0)
        assert "STOPPING=1" in after
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
    assert "Traceback" not in stderr


def test_run_command_with_a_startup_error_exits_1_with_one_error_line(
    site: Site, tmp_path: Path
) -> None:
    (site.state / "identity" / "device.key").unlink()
    config = _config_file(site, tmp_path / "scanner.toml")
    result = subprocess.run(
        [sys.executable, "-m", "scanner.cli", "run", "--config", str(config)],
        env=_subprocess_env(),
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.decode().splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "device identity" in errors[0]
    assert "Traceback" not in result.stderr.decode()


def test_run_command_with_a_bad_config_exits_2(tmp_path: Path, site: Site) -> None:
    config = _config_file(site, tmp_path / "scanner.toml", extra="blue_pin = 5")
    result = subprocess.run(
        [sys.executable, "-m", "scanner.cli", "run", "--config", str(config)],
        env=_subprocess_env(),
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip().splitlines() == [
        f"error: {config}: lights.blue_pin: unknown key"
    ]


# -- start-up refusals ------------------------------------------------------------------------


def _start_refused(config: Config) -> str:
    app = App(config, pin_factory=MockFactory())
    with pytest.raises(StartupError) as refused:
        app.start()
    app.stop()  # safe after a failed start
    message = str(refused.value)
    assert message
    assert "\n" not in message
    return message


def _camera(site: Site) -> CameraSection:
    return replay_camera(write_frames(site.directory / "frames", [None]), loop=True)


def test_missing_identity_key_stops_the_start(site: Site) -> None:
    (site.state / "identity" / "device.key").unlink()
    message = _start_refused(site.config(_camera(site)))
    assert "device identity" in message
    assert "device.key" in message


def test_config_for_another_device_stops_the_start(site: Site) -> None:
    other = device_id_for(SigningKey.generate().verify_key)
    message = _start_refused(site.config(_camera(site), device_id=other))
    assert other in message
    assert site.device_id in message


def test_trust_bundle_signed_by_another_root_stops_the_start(site: Site) -> None:
    keys = site.sample_set.keys
    foreign = encode_bundle(
        SigningKey.generate(),
        version=5,
        issued_at=site.sample_set.now - samples.DAY,
        expires_at=site.sample_set.now + 365 * samples.DAY,
        issuers=[IssuerKey(keys.issuer.verify_key, 0, site.sample_set.now + 365 * samples.DAY)],
        revocation_key=keys.revocation.verify_key,
    )
    (site.state / "trust" / "bundle.cose").write_bytes(foreign)
    message = _start_refused(site.config(_camera(site)))
    assert "bundle.cose" in message
    assert "root" in message


def test_pinned_root_that_did_not_sign_the_bundle_stops_the_start(site: Site) -> None:
    site.root_pub.write_text(public_key_text(SigningKey.generate().verify_key))
    assert "not signed by the pinned root" in _start_refused(site.config(_camera(site)))


def test_corrupt_revocations_file_stops_the_start(site: Site) -> None:
    path = site.state / "trust" / REVOCATIONS_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    message = _start_refused(site.config(_camera(site)))
    assert REVOCATIONS_FILE in message


def test_missing_root_key_file_stops_the_start(site: Site) -> None:
    site.root_pub.unlink()
    assert "root.pub" in _start_refused(site.config(_camera(site)))


# -- with a real Mosquitto --------------------------------------------------------------------


def _publisher(broker: Broker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ops-console", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def _alert_documents(receiver: Receiver) -> list[dict[str, object]]:
    return [json.loads(payload) for _, payload, _ in receiver.messages_on("/alerts")]


def test_decisions_arrive_signed_and_commands_run_once_over_mqtt(
    site: Site, start_app: Callable[..., Running], broker: Broker, receiver: Receiver
) -> None:
    frames = write_frames(
        site.directory / "frames",
        presentation([site.text("valid"), site.text("revoked")], copies=8, gap=8),
    )
    factory = MockFactory()
    decisions = Decisions()
    run = start_app(
        site.config(
            replay_camera(frames, loop=True),
            MqttSection(broker=broker.url, topic_root=TOPIC_ROOT, heartbeat_s=30),
        ),
        pin_factory=factory,
        on_decision=decisions,
    )
    topics = Topics(TOPIC_ROOT, site.device_id)
    decisions.wait_for(2)

    # Scans: signed batches on .../scans carrying both decisions.
    assert wait_until(
        lambda: (
            {"P-000001", "P-000666"}
            <= {
                e.get("pass_id")
                for b in receiver.batches
                for e in b["events"]  # type: ignore[attr-defined]
            }
        )
    )
    for topic, payload, props in receiver.messages_on("/scans"):
        assert topic == topics.scans
        assert signing.verify(site.device_key.verify_key, topic, payload, props)
        assert not signing.verify(SigningKey.generate().verify_key, topic, payload, props)
    events = [e for b in receiver.batches for e in b["events"]]  # type: ignore[attr-defined]
    scans = [e for e in events if e["kind"] == "scan"]
    assert [(e["outcome"], e["pass_id"]) for e in scans[:2]] == [
        ("accept", "P-000001"),
        ("reject", "P-000666"),
    ]

    # The device is subscribed once its first heartbeat is out (sent after SUBSCRIBE).
    assert receiver.wait_for_message("/heartbeat", timeout=WAIT_S)
    beat = json.loads(receiver.messages_on("/heartbeat")[0][1])
    # The shape docs/mqtt.md section 3 promises dashboards.
    assert set(beat["decode_ms"]) == {"p50", "p95"}
    assert beat["trust"]["bundle_version"] == 1
    assert beat["trust"]["state"] == "fresh"
    assert {"frames_per_s", "revocation_serial", "clock", "outbox", "uplink"} <= set(beat)
    indicator = run.gpio_indicator()
    # Let the last verdict's 0.15 s hold end: a verdict is never cut short by IDENTIFY
    # (what happens to an identify sent during a verdict has its own test below).
    time.sleep(0.5)
    command = encode_command(
        site.sample_set.keys.ops,
        Command(site.device_id, 1, int(time.time()) - 5, int(time.time()) + 300, Action.IDENTIFY),
    )
    ops = _publisher(broker)
    try:
        ops.publish(topics.commands, command, qos=1).wait_for_publish(5)
        assert wait_until(lambda: all(_all_lamps(indicator.lamps())))
        assert receiver.wait_for_message("/command-results", timeout=WAIT_S)
        _, result, result_props = receiver.messages_on("/command-results")[0]
        assert json.loads(result) == {"seq": 1, "ok": True, "action": "identify"}
        assert signing.verify(
            site.device_key.verify_key, topics.command_results, result, result_props
        )

        ops.publish(topics.commands, command, qos=1).wait_for_publish(5)  # replayed
        assert wait_until(
            lambda: any(
                a.get("code") == "command_refused" and _detail(a).get("code") == "replayed"
                for a in _alert_documents(receiver)
            )
        )
        assert wait_until(lambda: len(receiver.messages_on("/command-results")) == 2)
        refused = json.loads(receiver.messages_on("/command-results")[1][1])
        assert refused == {"seq": 1, "ok": False, "code": "replayed"}
    finally:
        ops.disconnect()
        ops.loop_stop()
    assert run.thread.is_alive()


def test_identify_sent_during_a_verdict_is_shown_once_the_verdict_ends(
    site: Site, start_app: Callable[..., Running], broker: Broker, receiver: Receiver
) -> None:
    # A blank second first, so the device has subscribed before the pass is shown. The
    # replay loops (no camera reopen, which would start a new presentation and a new verdict).
    frames = write_frames(
        site.directory / "frames", [None] * 40 + [site.text("revoked")] * 8 + [None] * 8
    )
    long_reject = LightsConfig(
        green_pin=GREEN, red_pin=RED, amber_pin=AMBER, buzzer_pin=BUZZER, reject_hold_s=2.0
    )
    decisions = Decisions()
    run = start_app(
        site.config(
            replay_camera(frames, loop=True),
            MqttSection(broker=broker.url, topic_root=TOPIC_ROOT, heartbeat_s=30),
            lights=long_reject,
        ),
        pin_factory=MockFactory(),
        on_decision=decisions,
    )
    assert receiver.wait_for_message("/heartbeat", timeout=WAIT_S)
    decisions.wait_for(1)  # the red verdict is showing now, for 2 s
    now = int(time.time())
    command = encode_command(
        site.sample_set.keys.ops, Command(site.device_id, 1, now - 5, now + 300, Action.IDENTIFY)
    )
    ops = _publisher(broker)
    try:
        ops.publish(Topics(TOPIC_ROOT, site.device_id).commands, command, qos=1).wait_for_publish(5)
        assert receiver.wait_for_message("/command-results", timeout=WAIT_S)
        assert json.loads(receiver.messages_on("/command-results")[0][1])["ok"] is True
        indicator = run.gpio_indicator()
        # The verdict ends after 2 s; the unit must then show itself as it reported it did.
        assert wait_until(lambda: all(_all_lamps(indicator.lamps())), timeout=5.0)
    finally:
        ops.disconnect()
        ops.loop_stop()


def _detail(alert: dict[str, object]) -> dict[str, object]:
    detail = alert.get("detail")
    return detail if isinstance(detail, dict) else {}


def _all_lamps(state: LampState) -> tuple[bool, bool, bool]:
    return (state.green, state.red, bool(state.amber))


def test_health_is_recorded_as_telemetry_the_outbox_may_shed(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(site.directory / "frames", presentation([site.text("valid")]))
    config = dataclasses.replace(
        site.config(replay_camera(frames, loop=True)),
        outbox=OutboxSection(telemetry_every_s=0.2),
    )
    run = start_app(config, pin_factory=MockFactory())
    outbox_file = run.app.outbox.path if run.app.outbox else site.state / "missing"

    def telemetry() -> list[dict[str, object]]:
        db = sqlite3.connect(f"file:{outbox_file}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT body FROM events WHERE kind = 'telemetry'").fetchall()
        finally:
            db.close()
        return [json.loads(body) for (body,) in rows]

    assert wait_until(lambda: len(telemetry()) >= 2)
    record = telemetry()[0]
    assert record["code"] == "health"
    detail = record["detail"]
    assert isinstance(detail, dict)
    assert {"frames_per_s", "decode_ms.p95", "trust.bundle_version", "clock", "state"} <= set(
        detail
    )
