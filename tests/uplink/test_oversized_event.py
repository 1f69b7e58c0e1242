"""A single event larger than the broker takes is set aside with an alert, never retried forever."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.broker import Broker, Receiver
from support.uplink import fast_config, scan_decision
from support.waiting import wait_until

from scanner.model import ClockState
from scanner.outbox.events import EventKind, OutboxEvent
from scanner.outbox.queue import Outbox
from scanner.uplink.forwarder import SET_ASIDE_DIR
from scanner.uplink.service import Uplink

DEVICE = "dev-big"


def _huge(kind: EventKind) -> OutboxEvent:
    return OutboxEvent(
        kind=kind,
        device_id=DEVICE,
        checkpoint_id="cp-1",
        wall_time=1_700_000_000.0,
        clock=ClockState.SYNCED,
        code="display_fault",
        detail={"fault": "x" * 8000},  # twice the broker's limit, in one event
    )


# An alert is also copied alone to .../alerts; telemetry goes only in a batch of one.
@pytest.mark.parametrize("kind", [EventKind.ALERT, EventKind.TELEMETRY])
def test_an_event_over_the_size_limit_is_set_aside_with_an_alert_and_the_rest_flows(
    tmp_path: Path, mosquitto_binary: str, kind: EventKind
) -> None:
    broker = Broker(tmp_path / "broker", message_size_limit=4096, binary=mosquitto_binary)
    broker.start()
    receiver = Receiver(broker.port)
    state = tmp_path / "state"
    outbox = Outbox(state)
    before = [outbox.record(scan_decision(i, DEVICE)) for i in range(20)]
    big = outbox.record(_huge(kind))
    after = [outbox.record(scan_decision(i, DEVICE)) for i in range(20, 40)]
    alerts: list[tuple[str, dict[str, object]]] = []

    def on_alert(code: str, detail: Mapping[str, object]) -> None:
        alerts.append((code, dict(detail)))

    uplink = Uplink(
        fast_config(broker, state, DEVICE, batch_max_bytes=65536),
        outbox,
        SigningKey.generate(),
        on_alert=on_alert,
    )
    uplink.start()
    try:
        assert receiver.wait_for_seqs(DEVICE, set(before + after), timeout=60)
        assert wait_until(lambda: outbox.depth() == 0)
    finally:
        uplink.stop()
        receiver.close()
        outbox.close()
        broker.kill()
    assert big not in receiver.seqs(DEVICE)
    [(code, detail)] = alerts
    assert code == "event_set_aside"
    assert detail["seq"] == big
    kept = list((state / SET_ASIDE_DIR).iterdir())
    assert len(kept) == 1
    assert kept[0].stat().st_mode & 0o777 == 0o600
    assert json.loads(kept[0].read_text())["seq"] == big
