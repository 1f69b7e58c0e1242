"""Downlink messages are handled on the worker thread, so a long apply never holds up PUBACKs."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion
from support.broker import Broker, Receiver
from support.uplink import fast_config, scan_decision
from support.waiting import wait_until

from scanner.outbox.queue import Outbox
from scanner.uplink.inbound import DownlinkMessage
from scanner.uplink.service import Uplink
from scanner.uplink.topics import Topics

DEVICE = "dev-worker"


def test_batches_are_acknowledged_while_a_downlink_handler_is_still_busy(
    tmp_path: Path, broker: Broker, receiver: Receiver
) -> None:
    release = threading.Event()
    seen: list[tuple[str, str]] = []

    def slow_handler(message: DownlinkMessage) -> None:
        seen.append((message.kind.value, threading.current_thread().name))
        release.wait(30)  # a 1M-entry revocation apply, as far as paho can tell

    outbox = Outbox(tmp_path / "state")
    config = fast_config(broker, tmp_path / "state", DEVICE)
    uplink = Uplink(config, outbox, SigningKey.generate(), on_downlink=slow_handler)
    central = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central-ops", protocol=5)
    central.connect("127.0.0.1", broker.port)
    central.loop_start()
    uplink.start()
    try:
        assert wait_until(lambda: uplink.connected)
        topics = Topics(config.topic_root, DEVICE)
        # Retained: the uplink may not have subscribed yet when it reports connected.
        central.publish(topics.revocations, b"not even signed", qos=1, retain=True)
        assert wait_until(lambda: seen)
        seqs = [outbox.record(scan_decision(i, DEVICE)) for i in range(200)]
        uplink.wake()
        # The handler has not returned, yet every batch is acknowledged and delivered.
        assert receiver.wait_for_seqs(DEVICE, set(seqs))
        assert wait_until(lambda: outbox.depth() == 0)
        assert not release.is_set()
    finally:
        release.set()
        uplink.stop()
        central.disconnect()
        central.loop_stop()
        outbox.close()
    assert seen[0] == ("revocations", "downlink")
    assert len(uplink.ack_delays) >= 1
