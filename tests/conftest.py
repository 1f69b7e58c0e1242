"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Helpers shared between test files assert too: give them pytest's detailed messages.
pytest.register_assert_rewrite("support")

from support.broker import Broker, Receiver, find_mosquitto  # noqa: E402 - after the rewrite hook

# -- MQTT: a real Mosquitto per test (uplink) --------------------------------------


@pytest.fixture
def mosquitto_binary() -> str:
    found = find_mosquitto()
    if found is None:
        pytest.skip("no mosquitto binary on this machine")
    return found


@pytest.fixture
def broker(tmp_path: Path, mosquitto_binary: str) -> Iterator[Broker]:
    """A private Mosquitto on a free loopback port, killed (by PID) at the end."""
    instance = Broker(tmp_path / "broker", binary=mosquitto_binary)
    instance.start()
    yield instance
    instance.kill()


@pytest.fixture
def receiver(broker: Broker) -> Iterator[Receiver]:
    """A subscriber playing the central system on ``broker``."""
    instance = Receiver(broker.port)
    yield instance
    instance.close()
