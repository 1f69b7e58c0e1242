"""The daemon with a broker it must refuse: it says so once, alerts, and keeps scanning offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory
from support.app import (
    TOPIC_ROOT,
    Decisions,
    Running,
    Site,
    committed_alerts,
    committed_scans,
    fixture_site,  # noqa: F401 - fixtures
    fixture_start_app,  # noqa: F401 - fixtures
    presentation,
    replay_camera,
    write_frames,
)
from support.broker import TlsBroker
from support.pki import Pki
from support.waiting import wait_until

from scanner.config.load import MqttSection


def test_an_expired_broker_certificate_leaves_the_unit_scanning_offline_with_one_alert(
    site: Site, start_app: Callable[..., Running], tmp_path: Path, mosquitto_binary: str
) -> None:
    pki = Pki(tmp_path / "pki")
    broker = TlsBroker(tmp_path / "broker", pki, pki.expired_server(), binary=mosquitto_binary)
    broker.start()
    frames = write_frames(
        site.directory / "frames",
        presentation([site.text("valid"), site.text("revoked")] * 3, copies=8, gap=8),
    )
    decisions = Decisions()
    try:
        run = start_app(
            site.config(
                replay_camera(frames, loop=False),
                MqttSection(broker=broker.url, topic_root=TOPIC_ROOT, ca_file=pki.ca_file),
            ),
            pin_factory=MockFactory(),
            on_decision=decisions,
        )
        decisions.wait_for(6)
        assert wait_until(
            lambda: [a for a in committed_alerts(site.outbox_file) if a["code"] == "broker_refused"]
        )
        uplink = run.app.uplink
        assert uplink is not None
        stats = uplink.stats()
    finally:
        broker.kill()
    # Every decision is kept for later; the link was tried once, not in a loop.
    assert len(committed_scans(site.outbox_file)) >= 6
    assert stats.connect_attempts == 1
    assert stats.link_refusal is not None
    assert "certificate has expired" in stats.link_refusal
    refused = [a for a in committed_alerts(site.outbox_file) if a["code"] == "broker_refused"]
    assert len(refused) == 1
