"""The MQTT topic tree of one device under the configured root (see docs/mqtt.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names for ``device_id`` under ``root``; the device writes only under ``device``."""

    root: str
    device_id: str

    @property
    def device(self) -> str:
        return f"{self.root}/devices/{self.device_id}"

    # -- uplink (device -> central) --
    @property
    def status(self) -> str:
        return f"{self.device}/status"

    @property
    def heartbeat(self) -> str:
        return f"{self.device}/heartbeat"

    @property
    def scans(self) -> str:
        return f"{self.device}/scans"

    @property
    def alerts(self) -> str:
        return f"{self.device}/alerts"

    @property
    def command_results(self) -> str:
        return f"{self.device}/command-results"

    @property
    def trust_request(self) -> str:
        return f"{self.device}/trust-request"

    # -- downlink (central -> device) --
    @property
    def commands(self) -> str:
        return f"{self.device}/commands"

    @property
    def trust_catchup(self) -> str:
        return f"{self.device}/trust"

    @property
    def trust_bundle(self) -> str:
        return f"{self.root}/trust/bundle"

    @property
    def revocations(self) -> str:
        return f"{self.root}/trust/revocations"

    @property
    def dcc_signers(self) -> str:
        return f"{self.root}/trust/dcc-signers"  # EU DCC DSC list, retained

    @property
    def dcc_rules(self) -> str:
        return f"{self.root}/trust/dcc-rules"  # EU DCC entry rules, retained
