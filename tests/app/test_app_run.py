"""`checkpoint-scanner run` in a subprocess (systemd notify and watchdog, SIGTERM, exit
statuses) and the App's start-up refusals.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from nacl.signing import SigningKey
from support.app import (
    WAIT_S,
    Site,
    fixture_site,  # noqa: F401 - fixtures
    replay_camera,
    write_frames,
)

from scanner.app import App
from scanner.config.load import CameraSection, Config
from scanner.demo import samples
from scanner.errors import StartupError
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.identity import device_id_for
from scanner.trust.keys import public_key_text
from scanner.trust.store import REVOCATIONS_FILE

# -- the run command in a subprocess ---------------------------------------------------------


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
pins = "mock"
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
        [sys.executable, "-m", "scanner.cli.dispatch", "run", "--config", str(config)],
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
        with process.stderr:
            stderr = process.stderr.read().decode()
    assert "Traceback" not in stderr


def test_run_command_with_a_startup_error_exits_1_with_one_error_line(
    site: Site, tmp_path: Path
) -> None:
    (site.state / "identity" / "device.key").unlink()
    config = _config_file(site, tmp_path / "scanner.toml")
    result = subprocess.run(
        [sys.executable, "-m", "scanner.cli.dispatch", "run", "--config", str(config)],
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


def _refusal_without_real_pins(
    site: Site, tmp_path: Path, env: dict[str, str], *python_flags: str
) -> list[str]:
    config = _config_file(site, tmp_path / "scanner.toml")
    config.write_text(config.read_text().replace('pins = "mock"', 'pins = "gpio"'))
    result = subprocess.run(
        [
            sys.executable,
            *python_flags,
            "-m",
            "scanner.cli.dispatch",
            "run",
            "--config",
            str(config),
        ],
        env=env,
        capture_output=True,
        check=False,
        timeout=30,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "ready" not in stderr  # refused before READY: systemd counts a failed start
    if "importtime" in python_flags:
        # Before OpenCV and numpy (seconds on a Pi): each of systemd's retries is quick.
        imported = {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines()}
        assert not imported & {"cv2", "numpy", "zxingcpp"}, imported & {"cv2", "numpy"}
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_real_pins_without_a_pin_factory_refuse_to_start_with_one_line(
    site: Site, tmp_path: Path
) -> None:
    env = _subprocess_env()
    env.pop("GPIOZERO_PIN_FACTORY", None)
    env["GPIOZERO_PIN_FACTORY"] = "lgpio"  # the factory a Pi uses; not installed here
    if importlib.util.find_spec("lgpio") is not None:
        pytest.skip("lgpio is installed here; the refusal needs a host without it")
    errors = _refusal_without_real_pins(site, tmp_path, env, "-X", "importtime")
    assert len(errors) == 1, errors
    assert errors[0].startswith("error: lights: no GPIO pin factory works (")


def test_real_pins_configured_never_run_on_gpiozeros_mock_setting(
    site: Site, tmp_path: Path
) -> None:
    env = _subprocess_env()
    env["GPIOZERO_PIN_FACTORY"] = "mock"
    errors = _refusal_without_real_pins(site, tmp_path, env)
    assert errors == ['error: lights: gpiozero is set to mock pins but lights.pins is "gpio"']


def test_run_command_with_a_bad_config_exits_2(tmp_path: Path, site: Site) -> None:
    config = _config_file(site, tmp_path / "scanner.toml", extra="blue_pin = 5")
    result = subprocess.run(
        [sys.executable, "-m", "scanner.cli.dispatch", "run", "--config", str(config)],
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
    with pytest.raises(StartupError) as refused:
        App(config, pin_factory=MockFactory())  # closes what it built before raising
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
