"""docs/mqtt.md and the configuration reference match the code: every field of every document a
running unit publishes (over a real Mosquitto) is documented, and nothing documented is missing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory
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
from support.waiting import wait_until

from scanner.config import reference
from scanner.config.load import MqttSection
from scanner.uplink import schema

DOCS = Path(__file__).parent.parent.parent / "docs"


def test_docs_configuration_md_is_generated_from_the_code() -> None:
    assert (DOCS / "configuration.md").read_text() == reference.markdown()


def test_every_configuration_key_has_a_meaning() -> None:
    keys = [key for key, _, _ in reference.config_keys()]
    assert [k for k in keys if k not in reference.MEANINGS] == []
    assert [k for k in reference.MEANINGS if k not in keys] == []


def test_docs_mqtt_md_holds_the_generated_field_reference() -> None:
    text = (DOCS / "mqtt.md").read_text()
    start, end = text.index(schema.BEGIN), text.index(schema.END) + len(schema.END) + 1
    assert text[start:end] == schema.markdown()
    assert "heartbeat_interval_s" not in text  # the key is [mqtt] heartbeat_s


def test_published_documents_have_exactly_the_documented_fields(
    site: Site, start_app: Callable[..., Running], broker: Broker, receiver: Receiver
) -> None:
    frames = write_frames(
        site.directory / "frames",
        presentation([site.text("valid"), site.text("test-card")], copies=8, gap=8),
    )
    decisions = Decisions()
    start_app(
        site.config(
            replay_camera(frames, loop=True),
            MqttSection(broker=broker.url, topic_root=TOPIC_ROOT, heartbeat_s=30),
        ),
        pin_factory=MockFactory(),
        on_decision=decisions,
    )
    decisions.wait_for(2)
    for suffix in ("/status", "/heartbeat", "/alerts", "/scans"):
        assert receiver.wait_for_message(suffix, timeout=WAIT_S), suffix
    assert wait_until(lambda: any(a.get("code") == "test_card" for a in _docs(receiver, "/alerts")))
    documented = {name: set(fields) for name, fields in schema.DOCUMENTS.items()}
    (status,) = _docs(receiver, "/status")[:1]
    assert schema.flat_keys(status) == documented["status"]
    assert status["checkpoint_id"] == "CP-TEST"
    beat = _docs(receiver, "/heartbeat")[0]
    assert schema.flat_keys(beat) == documented["heartbeat"]
    assert "label" in beat
    for alert in _docs(receiver, "/alerts"):
        assert alert["v"] == 1
        assert schema.flat_keys(alert) <= documented["alert"]
    for batch in _docs(receiver, "/scans"):
        events = batch["events"]
        assert (
            schema.flat_keys({k: v for k, v in batch.items() if k != "events"}) | {"events"}
            == documented["batch"]
        )
        for event in events:  # type: ignore[attr-defined]
            kind = "shed range" if event["kind"] == "shed" else "event"
            assert schema.flat_keys(event) <= documented[kind], event


def _docs(receiver: Receiver, suffix: str) -> list[dict[str, object]]:
    return [json.loads(payload) for _, payload, _ in receiver.messages_on(suffix)]
