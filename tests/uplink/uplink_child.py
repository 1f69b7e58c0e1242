"""A tiny device for the SIGKILL test: records decisions and uploads them until it is killed."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from nacl.signing import SigningKey

from scanner.model import ClockState, Outcome
from scanner.outbox.events import EventKind, OutboxEvent
from scanner.outbox.queue import Outbox
from scanner.uplink.config import UplinkConfig
from scanner.uplink.service import Uplink


def main(argv: list[str]) -> int:
    state_dir, broker_url, mode = Path(argv[0]), argv[1], argv[2]
    outbox = Outbox(state_dir)
    config = UplinkConfig(
        broker_url=broker_url,
        device_id="dev-kill",
        state_dir=state_dir,
        keepalive_s=2,
        reconnect_min_delay_s=0.05,
        reconnect_max_delay_s=0.2,
        poll_interval_s=0.02,
        batch_max_events=40,
    )
    uplink = Uplink(config, outbox, SigningKey(b"k" * 32))
    uplink.start()
    idle = threading.Event()
    if mode == "record":
        n = 0
        while True:  # until SIGKILL
            outbox.record(
                OutboxEvent(
                    kind=EventKind.SCAN,
                    device_id="dev-kill",
                    checkpoint_id="cp",
                    wall_time=time.time(),
                    clock=ClockState.SYNCED,
                    outcome=Outcome.ACCEPT,
                    pass_id=f"P{n}",
                )
            )
            uplink.wake()
            n += 1
            idle.wait(0.001)
    deadline = time.monotonic() + 60
    while outbox.depth() and time.monotonic() < deadline:
        idle.wait(0.05)
    uplink.stop()
    outbox.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
