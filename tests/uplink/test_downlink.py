"""Trust updates through the real Downlink: bundles and revocations verified before use.

A real TrustStore on disk with the sample bundle and revocation serial 1, as a
provisioned unit has. Only the other side is recorded: alerts, catch-up
requests and actions. Every refusal must leave the store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from support.downlink import Central

from scanner.demo import samples
from scanner.formats.cose import COSE_SIGN1_TAG, deterministic_dumps, parse_sign1, sign1
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.clock import PinnedClock, TrustedClock
from scanner.trust.revocation_update import UPDATE_TYPE, encode_update
from scanner.trust.store import BUNDLE_FILE, REVOCATIONS_FILE, TrustStore
from scanner.uplink.commands import Action, Command, CommandGate, encode_command
from scanner.uplink.downlink import Downlink
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z
DAY = samples.DAY
DEVICE = "cp-0123456789abcdef"
TRUST_KINDS = (DownlinkKind.TRUST_BUNDLE, DownlinkKind.REVOCATIONS, DownlinkKind.TRUST_CATCHUP)


@dataclass
class Unit:
    keys: samples.SampleKeys
    trust_dir: Path
    store: TrustStore
    central: Central
    downlink: Downlink

    def send(self, payload: bytes, kind: DownlinkKind = DownlinkKind.TRUST_BUNDLE) -> None:
        self.downlink.handle(DownlinkMessage(kind, f"checkpoint/v1/{kind}", payload, False))

    def version_and_serial(self) -> tuple[int, int]:
        snapshot = self.store.snapshot()
        return snapshot.bundle.version, snapshot.revocation_serial

    def reloaded(self) -> TrustStore:
        """The store as the next start would read it from disk."""
        return TrustStore(self.trust_dir, self.keys.root.verify_key)


@pytest.fixture(scope="module")
def sample_set() -> samples.SampleSet:
    return samples.build(NOW)


def make_unit(sample_set: samples.SampleSet, directory: Path, clock: object = None) -> Unit:
    trust_dir = directory / "trust"
    root = sample_set.keys.root.verify_key
    TrustStore.initialise(trust_dir, root, sample_set.bundle)
    TrustStore(trust_dir, root).apply_revocations(sample_set.revocations)
    store = TrustStore(trust_dir, root)
    central = Central()
    gate = CommandGate(DEVICE, directory / "command-seq")
    downlink = Downlink(
        store,
        gate,
        clock or PinnedClock(NOW),  # type: ignore[arg-type]
        central.downlink_actions(),
    )
    return Unit(sample_set.keys, trust_dir, store, central, downlink)


@pytest.fixture
def unit(sample_set: samples.SampleSet, tmp_path: Path) -> Unit:
    return make_unit(sample_set, tmp_path)


def bundle(
    keys: samples.SampleKeys,
    version: int,
    *,
    root: SigningKey | None = None,
    issued_at: int | None = None,
) -> bytes:
    return encode_bundle(
        root or keys.root,
        version=version,
        issued_at=issued_at if issued_at is not None else NOW - DAY + version,
        expires_at=NOW + 365 * DAY,
        issuers=[IssuerKey(keys.issuer.verify_key, 0, NOW + 365 * DAY)],
        revocation_key=keys.revocation.verify_key,
        ops_key=keys.ops.verify_key,
    )


def update(keys: samples.SampleKeys, serial: int, added: list[str], **kw: object) -> bytes:
    return encode_update(keys.revocation, serial=serial, issued_at=NOW, added=added, **kw)  # type: ignore[arg-type]


# -- bundles ------------------------------------------------------------------------------


def test_newer_bundle_is_installed_and_persisted(unit: Unit) -> None:
    newer = bundle(unit.keys, 2)
    unit.send(newer)
    assert unit.version_and_serial() == (2, 1)
    assert (unit.trust_dir / BUNDLE_FILE).read_bytes() == newer
    assert unit.reloaded().snapshot().bundle.version == 2
    assert unit.central.alerts == []
    assert unit.central.actions == ["report"]  # central hears the new version at once


def test_newer_bundle_keeps_the_revocations_in_force(unit: Unit) -> None:
    unit.send(bundle(unit.keys, 2))
    snapshot = unit.store.snapshot()
    assert snapshot.revocation_serial == 1
    assert "P-000666" in snapshot.revoked
    assert "P-000666" in unit.reloaded().snapshot().revoked


def test_newer_bundle_raises_the_trusted_clock_floor(
    sample_set: samples.SampleSet, tmp_path: Path
) -> None:
    clock = TrustedClock(
        tmp_path / "clock-floor", synced=lambda: False, wall=lambda: NOW - 10 * DAY
    )
    unit = make_unit(sample_set, tmp_path, clock)
    unit.send(bundle(unit.keys, 2, issued_at=NOW - 3600))
    assert clock.floor == NOW - 3600


def test_same_bundle_version_redelivered_is_ignored_silently(unit: Unit) -> None:
    current = (unit.trust_dir / BUNDLE_FILE).read_bytes()
    unit.send(unit.store.snapshot().bundle.raw)
    unit.send(unit.store.snapshot().bundle.raw, DownlinkKind.TRUST_CATCHUP)
    assert unit.central.alerts == []
    assert unit.central.actions == []
    assert unit.version_and_serial() == (1, 1)
    assert (unit.trust_dir / BUNDLE_FILE).read_bytes() == current


def test_older_bundle_is_refused_with_an_alert_and_the_current_one_kept(unit: Unit) -> None:
    newer = bundle(unit.keys, 3)
    unit.send(newer)
    unit.central.actions.clear()
    unit.send(bundle(unit.keys, 2))
    assert unit.central.alert_codes == ["trust_bundle_refused"]
    assert unit.central.alerts[0][1]["have"] == 3
    assert unit.version_and_serial() == (3, 1)
    assert (unit.trust_dir / BUNDLE_FILE).read_bytes() == newer
    assert unit.central.actions == []


def test_bundle_signed_by_another_root_is_refused_and_the_old_one_kept(unit: Unit) -> None:
    current = (unit.trust_dir / BUNDLE_FILE).read_bytes()
    unit.send(bundle(unit.keys, 9, root=SigningKey.generate()))
    assert unit.central.alert_codes == ["trust_bundle_refused"]
    assert unit.version_and_serial() == (1, 1)
    assert (unit.trust_dir / BUNDLE_FILE).read_bytes() == current
    assert unit.reloaded().snapshot().bundle.version == 1


def test_bundle_with_its_payload_altered_is_refused(unit: Unit) -> None:
    genuine = parse_sign1(bundle(unit.keys, 2))
    payload = bytearray(genuine.payload)
    payload[-1] ^= 0x01
    forged = deterministic_dumps(
        cbor2.CBORTag(COSE_SIGN1_TAG, [genuine.protected, {}, bytes(payload), genuine.signature])
    )
    unit.send(forged)
    assert unit.central.alert_codes == ["trust_bundle_refused"]
    assert unit.version_and_serial() == (1, 1)


def test_bytes_that_are_no_signed_object_are_refused_with_an_alert(unit: Unit) -> None:
    unit.send(b"not a bundle at all")
    assert unit.central.alert_codes == ["trust_bundle_refused"]
    assert unit.version_and_serial() == (1, 1)


# -- revocations --------------------------------------------------------------------------


def test_next_revocation_delta_is_applied_and_persisted(unit: Unit) -> None:
    unit.send(update(unit.keys, 2, ["P-000777"]), DownlinkKind.REVOCATIONS)
    snapshot = unit.store.snapshot()
    assert snapshot.revocation_serial == 2
    assert "P-000666" in snapshot.revoked
    assert "P-000777" in snapshot.revoked
    reloaded = unit.reloaded().snapshot()
    assert reloaded.revocation_serial == 2
    assert "P-000777" in reloaded.revoked
    assert unit.central.alerts == []


def test_delta_can_lift_a_revocation(unit: Unit) -> None:
    unit.send(update(unit.keys, 2, [], removed=["P-000666"]), DownlinkKind.REVOCATIONS)
    assert "P-000666" not in unit.store.snapshot().revoked
    assert unit.store.snapshot().revocation_serial == 2


def test_revocation_gap_is_alerted_and_a_catchup_requested(unit: Unit) -> None:
    before = (unit.trust_dir / REVOCATIONS_FILE).read_bytes()
    unit.send(update(unit.keys, 3, ["P-000888"]), DownlinkKind.REVOCATIONS)
    assert unit.central.alerts == [("revocation_gap", {"have": 1, "got": 3})]
    assert unit.central.catchups == [(1, 1)]
    assert unit.version_and_serial() == (1, 1)
    assert "P-000888" not in unit.store.snapshot().revoked
    assert (unit.trust_dir / REVOCATIONS_FILE).read_bytes() == before


def test_catchup_after_a_gap_fills_it_in_order(unit: Unit) -> None:
    unit.send(update(unit.keys, 3, ["P-000888"]), DownlinkKind.REVOCATIONS)
    unit.send(update(unit.keys, 2, ["P-000777"]), DownlinkKind.TRUST_CATCHUP)
    unit.send(update(unit.keys, 3, ["P-000888"]), DownlinkKind.TRUST_CATCHUP)
    snapshot = unit.store.snapshot()
    assert snapshot.revocation_serial == 3
    assert "P-000777" in snapshot.revoked
    assert "P-000888" in snapshot.revoked


def test_already_applied_revocation_update_is_ignored_silently(unit: Unit) -> None:
    before = (unit.trust_dir / REVOCATIONS_FILE).read_bytes()
    serial_1 = encode_update(
        unit.keys.revocation, serial=1, issued_at=NOW - DAY, added=["P-000666"]
    )
    unit.send(serial_1, DownlinkKind.REVOCATIONS)
    unit.send(update(unit.keys, 2, ["P-000777"]), DownlinkKind.REVOCATIONS)
    unit.send(update(unit.keys, 2, ["P-000777"]), DownlinkKind.REVOCATIONS)
    assert unit.central.alerts == []
    assert unit.central.catchups == []
    assert unit.store.snapshot().revocation_serial == 2
    assert before != (unit.trust_dir / REVOCATIONS_FILE).read_bytes()


def test_newer_revocation_snapshot_replaces_the_set(unit: Unit) -> None:
    unit.send(update(unit.keys, 5, ["P-000999"], snapshot=True), DownlinkKind.REVOCATIONS)
    snapshot = unit.store.snapshot()
    assert snapshot.revocation_serial == 5
    assert "P-000999" in snapshot.revoked
    assert "P-000666" not in snapshot.revoked


@pytest.mark.parametrize(
    "body",
    [
        {"type": "checkpoint-bundle", "serial": 2},
        {"type": UPDATE_TYPE, "serial": 0, "issued_at": NOW, "snapshot": False},
        {"type": UPDATE_TYPE, "serial": 2, "issued_at": NOW, "snapshot": "no", "added": []},
        {"type": UPDATE_TYPE, "serial": 2, "issued_at": NOW, "snapshot": False, "added": "P-1"},
        {
            "type": UPDATE_TYPE,
            "serial": 2,
            "issued_at": NOW,
            "snapshot": False,
            "added": [7],
            "removed": [],
        },
    ],
    ids=["not-an-update", "serial-0", "snapshot-text", "added-text", "added-int"],
)
def test_malformed_revocation_update_is_alerted_and_changes_nothing(
    unit: Unit, body: dict[str, object]
) -> None:
    before = (unit.trust_dir / REVOCATIONS_FILE).read_bytes()
    unit.send(sign1(deterministic_dumps(body), unit.keys.revocation), DownlinkKind.REVOCATIONS)
    assert unit.central.alert_codes == ["revocation_refused"]
    assert unit.version_and_serial() == (1, 1)
    assert (unit.trust_dir / REVOCATIONS_FILE).read_bytes() == before
    assert unit.central.catchups == []


def test_revocation_payload_that_is_not_cose_is_alerted_and_changes_nothing(unit: Unit) -> None:
    unit.send(b"\xa1\x01\x02", DownlinkKind.REVOCATIONS)
    assert unit.central.alert_codes == ["revocation_refused"]
    assert unit.version_and_serial() == (1, 1)


def test_revocation_update_signed_by_another_key_is_refused(unit: Unit) -> None:
    forged = encode_update(SigningKey.generate(), serial=2, issued_at=NOW, added=["P-000001"])
    unit.send(forged, DownlinkKind.REVOCATIONS)
    assert len(unit.central.alerts) == 1
    assert unit.central.alert_codes[0].endswith("_refused")
    assert "P-000001" not in unit.store.snapshot().revoked
    assert unit.version_and_serial() == (1, 1)


# -- anything at all --------------------------------------------------------------------


def _valid_payloads(keys: samples.SampleKeys) -> list[bytes]:
    return [
        bundle(keys, 2),
        update(keys, 2, ["P-000777"]),
        encode_command(keys.ops, Command(DEVICE, 1, NOW - 60, NOW + 600, Action.IDENTIFY)),
    ]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(list(DownlinkKind)), payload=st.binary(max_size=600))
def test_handle_never_raises_for_random_bytes(
    unit: Unit, kind: DownlinkKind, payload: bytes
) -> None:
    unit.central.alerts.clear()
    unit.downlink.handle(DownlinkMessage(kind, "t", payload, retained=False))
    # A refusal is an outcome; "downlink_error" would mean an exception got as far as handle().
    assert "downlink_error" not in unit.central.alert_codes
    assert unit.central.actions == []
    assert unit.version_and_serial() == (1, 1)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.integers(0, 2),
    kind=st.sampled_from(list(DownlinkKind)),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_handle_refuses_mutated_genuine_payloads_without_raising(
    unit: Unit,
    sample_set: samples.SampleSet,
    which: int,
    kind: DownlinkKind,
    edits: list[tuple[int, int]],
    cut: int | None,
) -> None:
    data = bytearray(_valid_payloads(sample_set.keys)[which])
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        del data[cut % len(data) :]
    unit.central.alerts.clear()
    unit.central.actions.clear()
    before = unit.version_and_serial()
    unit.downlink.handle(DownlinkMessage(kind, "t", bytes(data), retained=False))
    assert "downlink_error" not in unit.central.alert_codes
    if unit.version_and_serial() != before or unit.central.actions:
        # Only a mutation that left the signed bytes as they were can be taken.
        assert unit.central.alerts == []
