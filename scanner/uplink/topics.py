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
        """The device's topic prefix."""
        return f"{self.root}/devices/{self.device_id}"

    # -- uplink (device -> central) --
    @property
    def status(self) -> str:
        """The status topic (birth and last will)."""
        return f"{self.device}/status"

    @property
    def heartbeat(self) -> str:
        """The heartbeat topic."""
        return f"{self.device}/heartbeat"

    @property
    def scans(self) -> str:
        """The topic scan event batches go to."""
        return f"{self.device}/scans"

    @property
    def alerts(self) -> str:
        """The alerts topic."""
        return f"{self.device}/alerts"

    @property
    def command_results(self) -> str:
        """The topic command results go to."""
        return f"{self.device}/command-results"

    @property
    def trust_request(self) -> str:
        """The topic a device asks for trust data on."""
        return f"{self.device}/trust-request"

    # -- downlink (central -> device) --
    @property
    def commands(self) -> str:
        """The topic signed commands arrive on."""
        return f"{self.device}/commands"

    @property
    def trust_catchup(self) -> str:
        """The topic central answers a trust request on."""
        return f"{self.device}/trust"

    @property
    def trust_bundle(self) -> str:
        """The retained trust bundle topic, shared by every device."""
        return f"{self.root}/trust/bundle"

    @property
    def revocations(self) -> str:
        """The revocation updates topic, shared by every device."""
        return f"{self.root}/trust/revocations"

    @property
    def dcc_signers(self) -> str:
        """The retained EU DCC signer list topic."""
        return f"{self.root}/trust/dcc-signers"  # EU DCC DSC list, retained

    @property
    def dcc_rules(self) -> str:
        """The retained EU DCC rules topic."""
        return f"{self.root}/trust/dcc-rules"  # EU DCC entry rules, retained
