"""The issue's reliability tests with a real Mosquitto that is stopped, killed and restarted."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.broker import Broker, Receiver
from support.uplink import fast_config, scan_decision
from support.waiting import wait_until

from scanner.model import Outcome
from scanner.outbox.events import OutboxEvent
from scanner.outbox.queue import Outbox
from scanner.uplink.service import Uplink

DEVICE = "dev-rel"
CHILD = Path(__file__).with_name("uplink_child.py")


def decision(n: int) -> OutboxEvent:
    """Scans that mix accepts and rejects, as a checkpoint's do."""
    return scan_decision(n, DEVICE, Outcome.ACCEPT if n % 3 else Outcome.REJECT)


@pytest.mark.slow
def test_1000_decisions_made_while_the_broker_is_down_arrive_exactly_once(
    tmp_path: Path, mosquitto_binary: str
) -> None:
    # Persistence keeps the receiver's session (and its subscription) across the
    # outage, so whatever the device sends first after the restart is queued for it.
    broker = Broker(tmp_path / "broker", persistence=True, binary=mosquitto_binary)
    broker.start()
    receiver = Receiver(broker.port, client_id="central-persistent", persistent=True)
    outbox = Outbox(tmp_path / "state")
    uplink = Uplink(fast_config(broker, tmp_path / "state", DEVICE), outbox, SigningKey.generate())
    uplink.start()
    try:
        assert wait_until(lambda: uplink.connected)
        broker.stop()
        assert wait_until(lambda: not uplink.connected)
        seqs = [outbox.record(decision(i)) for i in range(1000)]
        assert outbox.depth() == 1000
        broker.start()
        assert receiver.wait_for_seqs(DEVICE, set(seqs), timeout=60)
        assert wait_until(lambda: outbox.depth() == 0)
    finally:
        uplink.stop()
        receiver.close()
        outbox.close()
        broker.kill()
    counts = [receiver.seq_counts[(DEVICE, seq)] for seq in seqs]
    assert counts == [1] * 1000


@pytest.mark.slow
def test_a_batch_over_the_brokers_size_limit_is_split_and_delivered_not_dropped(
    tmp_path: Path, mosquitto_binary: str
) -> None:
    limit = 4096
    broker = Broker(tmp_path / "broker", message_size_limit=limit, binary=mosquitto_binary)
    broker.start()
    receiver = Receiver(broker.port)
    outbox = Outbox(tmp_path / "state")
    seqs = [outbox.record(decision(i)) for i in range(200)]
    config = fast_config(
        broker, tmp_path / "state", DEVICE, batch_max_events=200, batch_max_bytes=65536
    )
    uplink = Uplink(config, outbox, SigningKey.generate())
    uplink.start()
    try:
        assert receiver.wait_for_seqs(DEVICE, set(seqs), timeout=60)
        assert wait_until(lambda: outbox.depth() == 0)
        assert uplink.stats().splits >= 1
    finally:
        uplink.stop()
        receiver.close()
        outbox.close()
        broker.kill()
    assert all(len(payload) <= limit for _, payload, _ in receiver.messages_on("/scans"))


@pytest.mark.slow
def test_sigkill_during_upload_20_times_never_leaves_a_gap(
    tmp_path: Path, broker: Broker, receiver: Receiver
) -> None:
    state = tmp_path / "state"
    database = state / "outbox.sqlite3"
    rng = random.Random(4)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    before = 0
    for _ in range(20):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(state), broker.url, "record"], env=env
        )
        try:
            # Kill while batches are flowing: wait for new arrivals, then a bit more.
            arrived = lambda n=before: len(receiver.seqs("dev-kill")) > n  # noqa: E731
            assert wait_until(arrived, timeout=30)
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        before = len(receiver.seqs("dev-kill"))
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    drain = subprocess.run(
        [sys.executable, str(CHILD), str(state), broker.url, "drain"],
        env=env,
        timeout=120,
        check=False,
    )
    assert drain.returncode == 0
    with Outbox(state) as outbox:
        last = outbox.last_seq()
        assert outbox.depth() == 0
    assert receiver.wait_for_seqs("dev-kill", set(range(1, last + 1)), timeout=30)
    assert receiver.seqs("dev-kill") == set(range(1, last + 1))
    statuses = [json.loads(p) for _, p, _ in receiver.messages_on("/status")]
    # Killed devices leave through their last will, not a goodbye.
    assert any(s["state"] == "offline" and s["reason"] == "lost" for s in statuses)
