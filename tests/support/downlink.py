"""The other side of the downlink, shared by the command and downlink tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scanner.uplink.downlink import DownlinkActions


@dataclass
class Central:
    """What the device did and what it said back to central."""

    actions: list[str] = field(default_factory=list)
    alerts: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    results: list[dict[str, object]] = field(default_factory=list)
    catchups: list[tuple[int, int]] = field(default_factory=list)

    def downlink_actions(self) -> DownlinkActions:
        return DownlinkActions(
            identify=lambda: self.actions.append("identify"),
            flush=lambda: self.actions.append("flush"),
            report=lambda: self.actions.append("report"),
            alert=self.alert,
            command_result=lambda doc: self.results.append(dict(doc)),
            request_catchup=lambda v, s: self.catchups.append((v, s)),
        )

    def alert(self, code: str, detail: Mapping[str, object]) -> None:
        self.alerts.append((code, dict(detail)))

    @property
    def alert_codes(self) -> list[str]:
        return [code for code, _ in self.alerts]
