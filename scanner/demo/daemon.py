"""The daemon demo: the real App on a synthetic camera, mock lights, a private broker.

Everything is real except the camera and the pins: signed sample passes are
rendered into moving, tilted frames; decisions go through the same decoder,
verifier, outbox and uplink as on a unit; batches arrive at a local Mosquitto.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion

from scanner.app import App
from scanner.camera.config import SyntheticConfig
from scanner.camera.synthetic import SyntheticSource
from scanner.config.load import (
    Config,
    DecoderSection,
    DeviceSection,
    MqttSection,
    TrustSection,
)
from scanner.decide.step import Decision
from scanner.demo.broker import Broker, find_mosquitto
from scanner.demo.dcc_samples import build_dcc
from scanner.demo.samples import build
from scanner.display.base import Display, NullDisplay
from scanner.display.config import Language
from scanner.display.console import ConsoleSurface
from scanner.display.screen import Locale
from scanner.display.worker import ScreenDisplay
from scanner.lights.gpio import GpioIndicator, make_pin_factory
from scanner.lights.signals import Indicator, LightsConfig
from scanner.lights.terminal import TerminalIndicator
from scanner.trust.dcc_store import DccStore
from scanner.trust.identity import device_id_for
from scanner.trust.keys import public_key_text, write_private_key
from scanner.trust.store import TrustStore

TOPIC_ROOT = "checkpoint/v1"
# What the synthetic camera shows, in turn: sample passes and QR codes that are not passes.
SHOWN = (
    "valid",
    "expired",
    "not-yet-valid",
    "forged",
    "revoked",
    "not-a-pass",
    "unknown-key",
    "malformed",
    "test-card",
)
# EU DCCs shown beside them (scanner.demo.dcc_samples), as a traveller from abroad presents.
SHOWN_HC1 = (
    "hc1-valid",
    "hc1-expired",
    "hc1-wrong-key-usage",
    "hc1-valid-ps256",
    "hc1-rule-failed",
    "hc1-revoked",
)
OTHER_CODES = ("WIFI:T:WPA;S:cafe-guest;P:hunter2;;", "BEGIN:VCARD\nFN:Someone\nEND:VCARD")


@dataclass
class Tally:
    """What the demo saw, from the decision callback and the broker side."""

    decisions: list[Decision] = field(default_factory=list)
    delivered: set[int] = field(default_factory=set)
    batches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _prepare(directory: Path, now: int) -> tuple[Path, Path, list[str], str]:
    """Keys, trust store and device identity in `directory`; returns paths and shown texts."""
    samples = build(now)
    root_pub = directory / "root.pub"
    root_pub.write_text(public_key_text(samples.keys.root.verify_key))
    state = directory / "state"
    TrustStore.initialise(state / "trust", samples.keys.root.verify_key, samples.bundle)
    TrustStore(state / "trust", samples.keys.root.verify_key).apply_revocations(samples.revocations)
    dcc_key = samples.keys.dcc
    assert dcc_key is not None, "the sample set carries a dcc key"
    dcc = build_dcc(now, dcc_key)
    dcc_store = DccStore(state / "trust", lambda: dcc_key.verify_key)
    dcc_store.install(dcc.signers)
    dcc_store.install(dcc.rules)
    device_key = SigningKey.generate()
    (state / "identity").mkdir(parents=True)
    write_private_key(state / "identity" / "device.key", device_key)
    texts = [samples.by_name(name).text for name in SHOWN]
    texts += [dcc.by_name(name).text for name in SHOWN_HC1] + list(OTHER_CODES)
    return root_pub, state, texts, device_id_for(device_key.verify_key)


@contextmanager
def _receiver(url: str, tally: Tally, out: Any) -> Iterator[None]:
    """Central's side in miniature: count what arrives on the device's scans topic."""
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="demo-central", protocol=mqtt.MQTTv5
    )

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        batch = json.loads(message.payload)
        seqs = [e["seq"] for e in batch.get("events", [])]
        with tally.lock:
            tally.batches += 1
            tally.delivered.update(seqs)
        if out is not None and seqs:
            print(f"  broker <- batch of {len(seqs)} signed events (seq {seqs[0]}..{seqs[-1]})",
                  file=out, flush=True)  # fmt: skip

    client.on_message = on_message
    client.connect(host, int(port))
    client.subscribe(f"{TOPIC_ROOT}/devices/+/scans", qos=1)
    client.loop_start()
    try:
        yield
    finally:
        client.disconnect()
        client.loop_stop()


def run_demo(
    directory: Path,
    broker_url: str | None,
    duration: float,
    as_json: bool,
    language: Language = "vi",
) -> int:
    """Run the daemon demo in `directory` for `duration` seconds; the exit status."""
    out = None if as_json else sys.stdout
    broker: Broker | None = None
    if broker_url is None and find_mosquitto() is not None:
        broker = Broker(directory / "broker")
        broker.start()
        broker_url = broker.url
    root_pub, state, texts, device_id = _prepare(directory, int(time.time()))
    lights = LightsConfig(green_pin=17, red_pin=27, amber_pin=22, buzzer_pin=18, pins="mock")
    config = Config(
        device=DeviceSection(checkpoint_id="DEMO-01", label="Demo gate", state_dir=state),
        trust=TrustSection(root_pub=root_pub, sync_flag=directory / "synced"),
        decoder=DecoderSection(debounce_gap_s=1.0),
        lights=lights,
        mqtt=MqttSection(broker=broker_url, heartbeat_s=10) if broker_url else None,
    )
    (directory / "synced").touch()  # the demo's clock counts as NTP-synchronised
    source = SyntheticSource(
        SyntheticConfig(texts=tuple(texts), realtime=True, loop=True, present_frames=25)
    )
    indicator: Indicator = (
        GpioIndicator(lights, make_pin_factory(lights.pins))
        if as_json
        else TerminalIndicator(lights)
    )
    display: Display = (
        NullDisplay()
        if as_json
        else ScreenDisplay(
            ConsoleSurface(sys.stdout, size=(44, 10), full_screen=False),
            Locale(language=language, label="Demo gate"),
            clear_after_s=2.5,
        )
    )
    tally = Tally()

    def decided(decision: Decision) -> None:
        with tally.lock:
            tally.decisions.append(decision)
        if out is not None:
            _print_decision(decision, out)

    if out is not None:
        print(f"device {device_id} at checkpoint DEMO-01; broker: {broker_url or 'none'}; "
              f"running {duration:.0f} s", file=out)  # fmt: skip
    stop = threading.Event()
    try:
        app = App(config, source=source, indicator=indicator, display=display, on_decision=decided)
        try:
            depth = _run_app(
                app, stop, duration=duration, broker_url=broker_url, tally=tally, out=out
            )
        finally:
            stop.set()
            app.stop()
    finally:
        if broker is not None:
            broker.stop()
    summary = _summary(tally, device_id, depth, broker_url)
    if out is not None:
        print("\nsummary:", file=out)
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0


def _run_app(
    app: App,
    stop: threading.Event,
    *,
    duration: float,
    broker_url: str | None,
    tally: Tally,
    out: Any,
) -> int:
    """Run the App for `duration` seconds; the outbox depth it ends with."""
    app.start()
    runner = threading.Thread(target=app.run, args=(stop,), name="scan-loop")
    if broker_url:
        with _receiver(broker_url, tally, out):
            runner.start()
            stop.wait(duration)
            stop.set()
            runner.join()
            _wait_delivered(app, timeout=10)
    else:
        runner.start()
        stop.wait(duration)
        stop.set()
        runner.join()
    return app.outbox.depth()


def _print_decision(decision: Decision, out: Any) -> None:
    v = decision.verdict
    label = v.label.upper() + (f" ({v.reason.value})" if v.reason else "")
    kind = " (test card, not a traveller)" if v.test_card else ""
    print(
        f"\n  {v.format.upper()} {label:<26} pass={(v.pass_id or '-')[:12]:<12} "
        f"light after {decision.latency_ms:.1f} ms"
        f"{kind}",
        file=out,
        flush=True,
    )


def _wait_delivered(app: App, timeout: float) -> None:
    """Give the uplink a moment to drain what the last seconds recorded."""
    if app.uplink is not None:
        app.uplink.wake()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and app.outbox.depth() > 0:
        time.sleep(0.1)


def _summary(tally: Tally, device_id: str, depth: int | None, broker: str | None) -> dict[str, Any]:
    decisions = tally.decisions
    latencies = sorted(d.latency_ms for d in decisions if d.primary)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else None
    return {
        "decisions": len(decisions),
        # Travellers only: a test card is counted apart, accepted or refused.
        "accepted": sum(d.verdict.accepted and not d.verdict.test_card for d in decisions),
        "rejected": sum(not d.verdict.accepted and not d.verdict.test_card for d in decisions),
        "test_cards": sum(d.verdict.test_card for d in decisions),
        "logged": sum(d.logged for d in decisions),
        "delivered": len(tally.delivered),
        "batches": tally.batches,
        "outbox_depth": depth,
        "device_id": device_id,
        "topic_root": TOPIC_ROOT,
        "broker": broker,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p99": round(p99, 2) if p99 is not None else None,
        },
        "by_format": {
            name: {
                "decisions": sum(d.verdict.format == name for d in decisions),
                "accepted": sum(d.verdict.accepted for d in decisions if d.verdict.format == name),
                "latency_p50_ms": _median(
                    [d.latency_ms for d in decisions if d.primary and d.verdict.format == name]
                ),
            }
            for name in ("cp1", "hc1")
        },
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None
