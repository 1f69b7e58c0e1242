"""The daemon end to end with a real Mosquitto: signed scan batches, heartbeats, commands."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from gpiozero.pins.mock import MockFactory
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion
from support.app import (
    AMBER,
    BUZZER,
    GREEN,
    RED,
    TOPIC_ROOT,
    WAIT_S,
    Decisions,
    Running,
    Site,
    fixture_site,  # noqa: F401 - fixtures
    fixture_start_app,  # noqa: F401 - fixtures
    presentation,
    replay_camera,
    write_frames,
)
from support.broker import Broker, Receiver
from support.waiting import wait_until

from scanner.config.load import MqttSection
from scanner.lights.gpio import LampState
from scanner.lights.signals import LightsConfig
from scanner.uplink import signing
from scanner.uplink.commands import Action, Command, encode_command
from scanner.uplink.topics import Topics

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
    # No wait for the last verdict's 0.15 s hold to end: a verdict is never cut short by
    # IDENTIFY, which follows it (that case has its own test below); either way all lamps
    # light and the command is answered.
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
