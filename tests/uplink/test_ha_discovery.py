"""Home Assistant discovery: a running unit retains one device's configs, each fitting Home
Assistant's documented schema and reading fields the unit's heartbeat and status really carry;
decommission empties them. All read back from a real Mosquitto."""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion
from support.app import (
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
from support.ha_discovery import problems
from support.waiting import wait_until

from provisioning.cli import main as provision
from scanner.config.load import MqttSection
from scanner.run.rate import RecentCount
from scanner.uplink import discovery
from scanner.uplink.topics import Topics

PREFIX = "homeassistant"
LABEL = "Hai Ba Trung gate 1"


def retained(port: int, topic_filter: str) -> dict[str, bytes]:
    """The retained messages under `topic_filter`, as a new subscriber gets them.

    The broker sends retained messages on subscription, before anything published
    after it: a message of our own published after the SUBACK marks the end.
    """
    barrier = f"test-barrier/{secrets.token_hex(4)}"
    found: dict[str, bytes] = {}
    subscribed, done = threading.Event(), threading.Event()

    def on_message(c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == barrier:
            done.set()
        elif msg.retain:
            found[msg.topic] = bytes(msg.payload)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.subscribe([(topic_filter, 1), (barrier, 1)])
        assert subscribed.wait(WAIT_S)
        client.publish(barrier, b"", qos=1)
        assert done.wait(WAIT_S)
    finally:
        client.disconnect()
        client.loop_stop()
    return found


_FIELD = re.compile(r"\{\{ value_json\.([\w.]+) \}\}")
_GUARDED = re.compile(r"\{\{ value_json\.([\w.]+) if value_json\.(\w+) else None \}\}")


def render(template: str, document: dict[str, Any]) -> object:
    """The two template shapes the unit uses, read as Home Assistant's Jinja reads them;
    a field the document lacks raises KeyError (Home Assistant would log a template error)."""

    def path(dotted: str) -> object:
        value: Any = document
        for part in dotted.split("."):
            value = value[part]
        return value

    if match := _FIELD.fullmatch(template):
        return path(match[1])
    if match := _GUARDED.fullmatch(template):
        return path(match[1]) if document[match[2]] else None
    raise AssertionError(f"template the test cannot read: {template}")


def _start(site: Site, start_app: Callable[..., Running], broker: Broker) -> None:
    frames = write_frames(site.directory / "frames", presentation([site.text("valid")], copies=8))
    start_app(
        site.config(
            replay_camera(frames, loop=True),
            MqttSection(
                broker=broker.url, topic_root=TOPIC_ROOT, heartbeat_s=30, discovery="homeassistant"
            ),
            label=LABEL,
        ),
        pin_factory=MockFactory(),
        on_decision=Decisions(),
    )


def test_a_unit_appears_in_home_assistant_as_one_device_read_from_its_own_heartbeat(
    site: Site, start_app: Callable[..., Running], broker: Broker, receiver: Receiver
) -> None:
    _start(site, start_app, broker)
    topics = Topics(TOPIC_ROOT, site.device_id)
    expected = discovery.config_topics(PREFIX, site.device_id)
    assert wait_until(lambda: len(retained(broker.port, f"{PREFIX}/#")) == len(expected))
    assert receiver.wait_for_message("/heartbeat", timeout=WAIT_S)
    configs = retained(broker.port, f"{PREFIX}/#")
    assert sorted(configs) == sorted(expected)
    beat = json.loads(receiver.messages_on("/heartbeat")[0][1])
    status = json.loads(retained(broker.port, topics.status)[topics.status])
    secrets_of_passes = [s.text for s in site.sample_set.samples]
    devices, unique_ids = [], set()
    for topic, payload in configs.items():
        config = json.loads(payload)
        assert problems(topic, PREFIX, config) == [], config
        unique_ids.add(config["unique_id"])
        devices.append(config["device"])
        # No second stream: each entity reads the unit's own heartbeat or status.
        assert config["state_topic"] in (topics.heartbeat, topics.status)
        source = beat if config["state_topic"] == topics.heartbeat else status
        value = render(config["value_template"], source)
        if "options" in config:
            assert value in config["options"], (topic, value)
        elif topic.split("/")[1] == "binary_sensor":
            assert value == config["payload_on"]  # the unit is online
        else:
            assert value is None or isinstance(value, int | float), (topic, value)
        for entry in config.get("availability", []):
            assert entry["topic"] == topics.status
            assert render(entry["value_template"], status) == entry["payload_available"]
        text = payload.decode()
        assert not any(secret in text for secret in secrets_of_passes)
    assert len(unique_ids) == len(configs)
    assert all(device == devices[0] for device in devices)
    assert devices[0]["identifiers"] == [site.device_id]
    assert devices[0]["name"] == LABEL  # where it stands; never a person
    state = json.loads(configs[f"{PREFIX}/sensor/{site.device_id}/state/config"])
    assert state["options"] == ["idle", "degraded", "fault"]  # what the heartbeat's state says

    # Decommissioned (central's account; this test broker takes anyone): the device goes.
    assert provision(["decommission", "--device-id", site.device_id, "--broker", broker.url]) == 0
    assert retained(broker.port, f"{PREFIX}/#") == {}


def test_without_discovery_nothing_is_published_under_the_prefix(
    site: Site, start_app: Callable[..., Running], broker: Broker, receiver: Receiver
) -> None:
    frames = write_frames(site.directory / "frames", presentation([site.text("valid")], copies=2))
    start_app(
        site.config(
            replay_camera(frames, loop=True),
            MqttSection(broker=broker.url, topic_root=TOPIC_ROOT, heartbeat_s=30),
        ),
        pin_factory=MockFactory(),
        on_decision=Decisions(),
    )
    assert receiver.wait_for_message("/heartbeat", timeout=WAIT_S)
    assert retained(broker.port, f"{PREFIX}/#") == {}


def test_decisions_per_minute_counts_the_last_sixty_seconds() -> None:
    recent = RecentCount()
    recent.add(100.2, 3)
    recent.add(100.9)
    recent.add(130.0, 2)
    assert recent.count(130.5) == 6
    assert recent.count(159.9) == 6
    assert recent.count(160.0) == 2  # second 100 has left the window
    assert recent.count(200.0) == 0


@pytest.mark.parametrize("prefix", ["", "home/+", "a//b", "x#"])
def test_a_discovery_prefix_with_wildcards_or_empty_levels_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="discovery_prefix"):
        MqttSection(broker="mqtt://127.0.0.1:1883", discovery_prefix=prefix)
