"""Signed ops commands through the real Downlink: run once, for this device, before expiry.

Everything is real: keys from `scanner.demo.samples`, a TrustStore on disk, a
CommandGate state file, a pinned clock. Only the other side is recorded: the
actions a command triggers and what goes back to central (alerts, results).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cbor2
import pytest
from nacl.signing import SigningKey
from support.downlink import Central

from scanner.demo import samples
from scanner.formats.cose import COSE_SIGN1_TAG, deterministic_dumps, parse_sign1, sign1
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.clock import PinnedClock
from scanner.trust.store import TrustStore
from scanner.uplink.commands import (
    COMMAND_TYPE,
    MAX_LIFETIME_S,
    Action,
    Command,
    CommandGate,
    Refusal,
    encode_command,
    parse_command,
)
from scanner.uplink.downlink import Downlink, DownlinkActions
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z
DEVICE = "cp-0123456789abcdef"
OTHER_DEVICE = "cp-fedcba9876543210"


@dataclass
class Unit:
    """One device's downlink side, rebuildable from its state files (a restart)."""

    sample_set: samples.SampleSet
    trust_dir: Path
    gate_file: Path
    central: Central
    downlink: Downlink

    def send(self, payload: bytes) -> None:
        self.downlink.handle(
            DownlinkMessage(DownlinkKind.COMMAND, f"x/devices/{DEVICE}/commands", payload, False)
        )

    def restart(self) -> Unit:
        return make_unit(self.sample_set, self.trust_dir.parent, Central())


def make_unit(sample_set: samples.SampleSet, directory: Path, central: Central) -> Unit:
    trust_dir = directory / "trust"
    root = sample_set.keys.root.verify_key
    if not (trust_dir / "bundle.cose").exists():
        TrustStore.initialise(trust_dir, root, sample_set.bundle)
    store = TrustStore(trust_dir, root)
    gate_file = directory / "command-seq"
    gate = CommandGate(DEVICE, gate_file)
    downlink = Downlink(store, gate, PinnedClock(NOW), central.downlink_actions())
    return Unit(sample_set, trust_dir, gate_file, central, downlink)


@pytest.fixture(scope="module")
def sample_set() -> samples.SampleSet:
    return samples.build(NOW)


@pytest.fixture
def unit(sample_set: samples.SampleSet, tmp_path: Path) -> Unit:
    return make_unit(sample_set, tmp_path, Central())


def command(
    sample_set: samples.SampleSet,
    seq: int,
    action: Action = Action.IDENTIFY,
    *,
    device: str = DEVICE,
    issued_at: int = NOW - 60,
    expires_at: int = NOW + 600,
    key: SigningKey | None = None,
) -> bytes:
    return encode_command(
        key or sample_set.keys.ops, Command(device, seq, issued_at, expires_at, action)
    )


def signed_body(key: SigningKey, **overrides: object) -> bytes:
    body: dict[str, object] = {
        "type": COMMAND_TYPE,
        "device_id": DEVICE,
        "seq": 1,
        "issued_at": NOW - 60,
        "expires_at": NOW + 600,
        "action": "identify",
    }
    body.update(overrides)
    return sign1(deterministic_dumps(body), key)


def with_payload(original: bytes, payload: bytes) -> bytes:
    """The same envelope and signature around a different payload."""
    envelope = parse_sign1(original)
    return deterministic_dumps(
        cbor2.CBORTag(COSE_SIGN1_TAG, [envelope.protected, {}, payload, envelope.signature])
    )


def assert_refused(unit: Unit, code: str, seq: int | None) -> None:
    assert unit.central.actions == []
    assert [c for c, _ in unit.central.alerts] == ["command_refused"]
    assert unit.central.alerts[0][1]["code"] == code
    assert unit.central.results == [{"seq": seq, "ok": False, "code": code}]


# -- commands that run ------------------------------------------------------------------


@pytest.mark.parametrize("action", list(Action))
def test_valid_command_runs_its_action_once_and_reports_ok(
    unit: Unit, sample_set: samples.SampleSet, action: Action
) -> None:
    unit.send(command(sample_set, 7, action))
    assert unit.central.actions == [action.value]
    assert unit.central.alerts == []
    assert unit.central.results == [{"seq": 7, "ok": True, "action": action}]


def test_commands_with_rising_sequence_numbers_all_run(
    unit: Unit, sample_set: samples.SampleSet
) -> None:
    unit.send(command(sample_set, 1, Action.FLUSH))
    unit.send(command(sample_set, 2, Action.REPORT))
    unit.send(command(sample_set, 10, Action.IDENTIFY))
    assert unit.central.actions == ["flush", "report", "identify"]
    assert [r["ok"] for r in unit.central.results] == [True, True, True]


def test_admitted_sequence_number_is_persisted_before_the_action_runs(
    sample_set: samples.SampleSet, tmp_path: Path
) -> None:
    gate_file = tmp_path / "command-seq"
    seen: list[str] = []
    central = Central()
    actions = DownlinkActions(
        identify=lambda: seen.append(gate_file.read_text().strip()),
        flush=lambda: None,
        report=lambda: None,
        alert=central.alert,
        command_result=lambda doc: None,
        request_catchup=lambda v, s: None,
    )
    TrustStore.initialise(tmp_path / "trust", sample_set.keys.root.verify_key, sample_set.bundle)
    store = TrustStore(tmp_path / "trust", sample_set.keys.root.verify_key)
    downlink = Downlink(store, CommandGate(DEVICE, gate_file), PinnedClock(NOW), actions)
    downlink.handle(
        DownlinkMessage(DownlinkKind.COMMAND, "t", command(sample_set, 42), retained=False)
    )
    assert seen == ["42"]


# -- commands that are refused ------------------------------------------------------------


def test_replayed_command_is_refused_and_reported(
    unit: Unit, sample_set: samples.SampleSet
) -> None:
    payload = command(sample_set, 5, Action.FLUSH)
    unit.send(payload)
    unit.central.actions.clear()
    unit.central.results.clear()
    unit.send(payload)
    assert_refused(unit, "replayed", 5)


def test_older_sequence_number_is_refused_as_a_replay(
    unit: Unit, sample_set: samples.SampleSet
) -> None:
    unit.send(command(sample_set, 9))
    unit.central.actions.clear()
    unit.central.results.clear()
    unit.send(command(sample_set, 8, Action.REPORT))
    assert_refused(unit, "replayed", 8)


def test_replay_after_a_restart_is_refused(unit: Unit, sample_set: samples.SampleSet) -> None:
    payload = command(sample_set, 3, Action.IDENTIFY)
    unit.send(payload)
    assert unit.central.actions == ["identify"]
    restarted = unit.restart()
    restarted.send(payload)
    assert_refused(restarted, "replayed", 3)
    restarted.send(command(sample_set, 4, Action.REPORT))
    assert restarted.central.actions == ["report"]


@pytest.mark.parametrize(
    ("issued_at", "expires_at"),
    [(NOW - 600, NOW - 1), (NOW - 600, NOW)],
    ids=["expired-a-second-ago", "expires-this-second"],
)
def test_expired_command_is_refused(
    unit: Unit, sample_set: samples.SampleSet, issued_at: int, expires_at: int
) -> None:
    unit.send(command(sample_set, 1, issued_at=issued_at, expires_at=expires_at))
    assert_refused(unit, "expired", 1)


def test_command_issued_far_in_the_future_is_refused(
    unit: Unit, sample_set: samples.SampleSet
) -> None:
    unit.send(command(sample_set, 1, issued_at=NOW + 3600, expires_at=NOW + 7200))
    assert_refused(unit, "not_yet_valid", 1)


def test_command_for_another_device_is_refused(unit: Unit, sample_set: samples.SampleSet) -> None:
    unit.send(command(sample_set, 1, device=OTHER_DEVICE))
    assert_refused(unit, "wrong_device", 1)


def test_refused_commands_do_not_use_up_their_sequence_number(
    unit: Unit, sample_set: samples.SampleSet
) -> None:
    unit.send(command(sample_set, 5, device=OTHER_DEVICE))
    unit.send(command(sample_set, 5, issued_at=NOW - 900, expires_at=NOW - 300))
    unit.central.alerts.clear()
    unit.central.results.clear()
    unit.send(command(sample_set, 5, Action.FLUSH))
    assert unit.central.actions == ["flush"]


def test_command_with_an_altered_payload_is_refused(
    unit: Unit, sample_set: samples.SampleSet
) -> None:
    genuine = command(sample_set, 1, Action.IDENTIFY, device=OTHER_DEVICE)
    # Re-address another device's command to this one, keeping the ops signature.
    payload = parse_sign1(genuine).payload
    altered = with_payload(genuine, payload.replace(OTHER_DEVICE.encode(), DEVICE.encode()))
    assert altered != genuine
    unit.send(altered)
    assert_refused(unit, "bad_signature", None)


def test_command_with_one_payload_byte_flipped_is_refused(
    unit: Unit, sample_set: samples.SampleSet
) -> None:
    genuine = command(sample_set, 1, Action.REPORT)
    payload = bytearray(parse_sign1(genuine).payload)
    payload[-1] ^= 0x01  # the low bit of expires_at, the last key in deterministic order
    unit.send(with_payload(genuine, bytes(payload)))
    assert_refused(unit, "bad_signature", None)


@pytest.mark.parametrize("signer", ["issuer", "revocation", "root", "rogue"])
def test_command_signed_by_a_key_other_than_ops_is_refused(
    unit: Unit, sample_set: samples.SampleSet, signer: str
) -> None:
    key: SigningKey = getattr(sample_set.keys, signer)
    unit.send(command(sample_set, 1, key=key))
    assert_refused(unit, "bad_signature", None)


def test_command_with_an_unknown_action_is_refused(
    unit: Unit, sample_set: samples.SampleSet
) -> None:
    unit.send(signed_body(sample_set.keys.ops, action="reboot"))
    assert_refused(unit, "unknown_action", None)


@pytest.mark.parametrize(
    "overrides",
    [
        {"type": "checkpoint-revocations"},
        {"seq": -1},
        {"seq": "7"},
        {"seq": True},
        {"device_id": 7},
        {"expires_at": NOW - 61},
        {"expires_at": NOW - 60 + MAX_LIFETIME_S + 1},
    ],
    ids=["wrong-type", "negative-seq", "text-seq", "bool-seq", "int-device", "ends-first", "long"],
)
def test_signed_but_malformed_command_is_refused(
    unit: Unit, sample_set: samples.SampleSet, overrides: dict[str, object]
) -> None:
    unit.send(signed_body(sample_set.keys.ops, **overrides))
    assert_refused(unit, "malformed", None)


def test_bytes_that_are_no_command_are_refused_as_malformed(unit: Unit) -> None:
    unit.send(b"identify please")
    assert_refused(unit, "malformed", None)


def test_bundle_without_an_ops_key_refuses_every_command(
    sample_set: samples.SampleSet, tmp_path: Path
) -> None:
    keys = sample_set.keys
    no_ops = encode_bundle(
        keys.root,
        version=1,
        issued_at=NOW - samples.DAY,
        expires_at=NOW + 365 * samples.DAY,
        issuers=[IssuerKey(keys.issuer.verify_key, 0, NOW + 365 * samples.DAY)],
        revocation_key=keys.revocation.verify_key,
    )
    TrustStore.initialise(tmp_path / "trust", keys.root.verify_key, no_ops)
    unit = make_unit(sample_set, tmp_path, Central())
    unit.send(command(sample_set, 1))
    assert_refused(unit, "no_ops_key", None)


# -- the gate and the codec on their own --------------------------------------------------


def test_gate_starts_from_zero_without_a_state_file(tmp_path: Path) -> None:
    assert CommandGate(DEVICE, tmp_path / "command-seq").last_seq == 0


def test_gate_state_survives_a_new_gate_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "command-seq"
    CommandGate(DEVICE, path).admit(Command(DEVICE, 12, NOW - 1, NOW + 60, Action.FLUSH), NOW)
    again = CommandGate(DEVICE, path)
    assert again.last_seq == 12
    refusal = again.admit(Command(DEVICE, 12, NOW - 1, NOW + 60, Action.FLUSH), NOW)
    assert refusal is not None
    assert refusal.code == "replayed"


def test_encoded_command_parses_back_to_itself(sample_set: samples.SampleSet) -> None:
    original = Command(DEVICE, 99, NOW - 5, NOW + 55, Action.REPORT)
    parsed = parse_command(
        encode_command(sample_set.keys.ops, original), sample_set.keys.ops.verify_key
    )
    assert parsed == original


def test_oversized_command_is_refused_before_parsing(sample_set: samples.SampleSet) -> None:
    refusal = parse_command(b"\x00" * 5000, sample_set.keys.ops.verify_key)
    assert isinstance(refusal, Refusal)
    assert refusal.code == "malformed"


def test_a_damaged_sequence_file_refuses_every_command_instead_of_starting_over(
    tmp_path: Path,
) -> None:
    state = tmp_path / "command-seq"
    state.write_text("not a number\n")
    gate = CommandGate("cp-0001", state)
    command = Command("cp-0001", 1, 1_000, 1_300, Action.IDENTIFY)
    refusal = gate.admit(command, 1_100)
    assert refusal is not None
    assert refusal.code == "state_damaged"
