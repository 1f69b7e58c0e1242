"""EU DCC trust objects through the real Downlink: DSC lists and rule sets, verified before use."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.downlink import Central
from support.hc1 import DCC_KEY, dsc, rule_set

from scanner.demo import samples
from scanner.formats.hc1.dsc import load_der
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.clock import PinnedClock
from scanner.trust.dcc_signers import encode_signers
from scanner.trust.dcc_store import SIGNERS_FILE, DccStore
from scanner.trust.store import TrustStore
from scanner.uplink.commands import CommandGate
from scanner.uplink.downlink import Downlink
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage

NOW = 1_796_083_200
DAY = 86400


def _signers(version: int, key: SigningKey = DCC_KEY) -> bytes:
    return encode_signers(
        key,
        version=version,
        issued_at=NOW,
        expires_at=NOW + 30 * DAY,
        signers=[load_der(dsc().der)],
    )


class DccUnit:
    def __init__(self, directory: Path) -> None:
        keys = samples.build(NOW).keys
        trust_dir = directory / "trust"
        bundle = encode_bundle(
            keys.root,
            version=1,
            issued_at=NOW - DAY,
            expires_at=NOW + 365 * DAY,
            issuers=[IssuerKey(keys.issuer.verify_key, 0, NOW + 365 * DAY)],
            revocation_key=keys.revocation.verify_key,
            dcc_key=DCC_KEY.verify_key,
        )
        TrustStore.initialise(trust_dir, keys.root.verify_key, bundle)
        store = TrustStore(trust_dir, keys.root.verify_key)
        self.trust_dir = trust_dir
        self.dcc = DccStore(trust_dir, lambda: store.snapshot().bundle.dcc_key)
        self.central = Central()
        gate = CommandGate("cp-0123456789abcdef", directory / "command-seq")
        self.downlink = Downlink(
            store, gate, PinnedClock(NOW), self.central.downlink_actions(), dcc=self.dcc
        )

    def send(self, payload: bytes, kind: DownlinkKind) -> None:
        self.downlink.handle(DownlinkMessage(kind, f"checkpoint/v1/{kind}", payload, True))

    def signers_version(self) -> int | None:
        held = self.dcc.snapshot().signers
        return held.version if held is not None else None


@pytest.fixture
def unit(tmp_path: Path) -> DccUnit:
    return DccUnit(tmp_path)


def test_a_dsc_list_is_installed_persisted_and_reported(unit: DccUnit) -> None:
    unit.send(_signers(3), DownlinkKind.DCC_SIGNERS)
    assert unit.signers_version() == 3
    assert (unit.trust_dir / SIGNERS_FILE).read_bytes() == _signers(3)
    assert unit.central.actions == ["report"]
    assert unit.central.alerts == []


def test_the_retained_list_again_is_not_a_fault_and_an_older_one_is_refused(unit: DccUnit) -> None:
    unit.send(_signers(3), DownlinkKind.DCC_SIGNERS)
    unit.send(_signers(3), DownlinkKind.DCC_SIGNERS)
    assert unit.central.alerts == []
    unit.send(_signers(2), DownlinkKind.DCC_SIGNERS)
    assert unit.central.alert_codes == ["dcc_update_refused"]
    assert unit.signers_version() == 3


def test_a_list_signed_by_another_key_is_refused_and_changes_nothing(unit: DccUnit) -> None:
    unit.send(_signers(1), DownlinkKind.DCC_SIGNERS)
    unit.send(_signers(9, key=SigningKey(b"\x44" * 32)), DownlinkKind.DCC_SIGNERS)
    assert unit.central.alert_codes == ["dcc_update_refused"]
    assert unit.signers_version() == 1


def test_a_rule_set_on_the_catch_up_topic_is_routed_by_its_signer(unit: DccUnit) -> None:
    unit.send(rule_set(version=5).raw, DownlinkKind.TRUST_CATCHUP)
    rules = unit.dcc.snapshot().rules
    assert rules is not None
    assert rules.version == 5
    assert unit.central.alerts == []


def test_garbage_on_a_dcc_topic_is_an_alert_not_a_crash(unit: DccUnit) -> None:
    unit.send(b"\x00garbage", DownlinkKind.DCC_RULES)
    assert unit.central.alert_codes == ["dcc_update_refused"]
