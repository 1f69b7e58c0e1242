"""Large revocation updates are built in a helper process; its death never changes what is in force.

The helper is killed for real (SIGKILL, by the PID of our own child), as the
kernel's OOM killer or a stuck apply would end it; the store must keep the
old set on disk and in memory, leave no staged file, and apply the same
update once a helper lives long enough.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.downlink import Central

from scanner.demo import samples
from scanner.errors import RevocationApplyError, RevocationUpdateError
from scanner.trust.clock import PinnedClock
from scanner.trust.freshness import RECORD_FILE
from scanner.trust.revocation_update import encode_update
from scanner.trust.store import BUNDLE_FILE, REVOCATIONS_FILE, TrustStore
from scanner.uplink.commands import CommandGate
from scanner.uplink.downlink import Downlink
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage

NOW = 1_796_083_200  # 2026-12-01T00:00:00Z
BUILDER = b"scanner.trust.revocation_build"


@pytest.fixture(scope="module")
def sample_set() -> samples.SampleSet:
    return samples.build(NOW)


@pytest.fixture(scope="module")
def big_snapshot(sample_set: samples.SampleSet) -> bytes:
    ids = [f"B-{n:09d}" for n in range(100_000)]
    return encode_update(
        sample_set.keys.revocation, serial=5, issued_at=NOW, added=ids, snapshot=True
    )


@pytest.fixture
def trust_dir(sample_set: samples.SampleSet, tmp_path: Path) -> Path:
    directory = tmp_path / "trust"
    root = sample_set.keys.root.verify_key
    TrustStore.initialise(directory, root, sample_set.bundle)
    TrustStore(directory, root).apply_revocations(sample_set.revocations)  # serial 1
    return directory


def _open(sample_set: samples.SampleSet, trust_dir: Path) -> TrustStore:
    # offload_bytes=0: every update goes to the helper process.
    return TrustStore(trust_dir, sample_set.keys.root.verify_key, offload_bytes=0)


def _builders() -> list[int]:
    """PIDs of this process's revocation builder children that are still running."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[1]) == me and BUILDER in cmdline:
            found.append(int(entry.name))
    return found


def _kill_builders(done: threading.Event) -> list[int]:
    """Kill each builder as soon as it appears (it needs a quarter second to import)."""
    killed: list[int] = []
    while not done.is_set():
        for pid in _builders():
            if pid not in killed:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        done.wait(0.002)
    return killed


def _leftovers(directory: Path) -> list[str]:
    names = {BUNDLE_FILE, REVOCATIONS_FILE, RECORD_FILE}
    return sorted(p.name for p in directory.iterdir() if p.name not in names)


def test_a_killed_builder_leaves_the_old_set_in_force_and_no_staged_file(
    sample_set: samples.SampleSet, trust_dir: Path, big_snapshot: bytes
) -> None:
    store = _open(sample_set, trust_dir)
    before = (trust_dir / REVOCATIONS_FILE).read_bytes()
    done = threading.Event()
    outcome: list[BaseException] = []

    def apply() -> None:
        try:
            store.apply_revocations(big_snapshot)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=apply, name="test-apply").start()
    killed = _kill_builders(done)
    assert len(killed) == 2  # the first, and the one retry
    assert len(outcome) == 1
    assert isinstance(outcome[0], RevocationApplyError)
    assert "signal 9" in str(outcome[0])
    assert store.snapshot().revocation_serial == 1
    assert "P-000666" in store.snapshot().revoked  # the sample set's revoked pass
    assert (trust_dir / REVOCATIONS_FILE).read_bytes() == before
    assert _leftovers(trust_dir) == []
    # The same update, once a builder is left alone, applies whole.
    applied = store.apply_revocations(big_snapshot)
    assert (applied.serial, applied.revoked) == (5, 100_000)
    reopened = TrustStore(trust_dir, sample_set.keys.root.verify_key).snapshot()
    assert reopened.revocation_serial == 5
    assert "B-000099999" in reopened.revoked
    assert "P-000666" not in reopened.revoked


def test_a_killed_builder_is_one_alert_and_no_catchup_through_the_downlink(
    sample_set: samples.SampleSet, trust_dir: Path, big_snapshot: bytes, tmp_path: Path
) -> None:
    store = _open(sample_set, trust_dir)
    central = Central()
    downlink = Downlink(
        store, CommandGate("dev", tmp_path / "seq"), PinnedClock(NOW), central.downlink_actions()
    )
    message = DownlinkMessage(DownlinkKind.REVOCATIONS, "t", big_snapshot, False)
    done = threading.Event()

    def handle() -> None:
        downlink.handle(message)
        done.set()

    threading.Thread(target=handle, name="test-downlink").start()
    _kill_builders(done)
    assert central.alert_codes == ["revocation_apply_failed"]
    assert "signal 9" in str(central.alerts[0][1]["error"])
    assert central.catchups == []
    assert store.snapshot().revocation_serial == 1


def test_staged_files_of_an_interrupted_apply_are_removed_by_the_next_one(
    sample_set: samples.SampleSet, trust_dir: Path
) -> None:
    (trust_dir / f".{REVOCATIONS_FILE}.0123456789abcdef.staged").write_bytes(b"half a file")
    store = _open(sample_set, trust_dir)
    update = encode_update(sample_set.keys.revocation, serial=2, issued_at=NOW, added=["P-9"])
    store.apply_revocations(update)
    assert "P-9" in store.snapshot().revoked
    assert _leftovers(trust_dir) == []


def test_the_builder_refuses_a_forged_update_with_its_reason(
    sample_set: samples.SampleSet, trust_dir: Path
) -> None:
    store = _open(sample_set, trust_dir)
    forged = encode_update(SigningKey.generate(), serial=2, issued_at=NOW, added=["P-9"])
    with pytest.raises(RevocationUpdateError, match="not signed by the revocation key"):
        store.apply_revocations(forged)
    assert store.snapshot().revocation_serial == 1
    assert _leftovers(trust_dir) == []


def test_a_threshold_sends_only_large_updates_to_the_builder(
    sample_set: samples.SampleSet, trust_dir: Path, big_snapshot: bytes
) -> None:
    store = TrustStore(trust_dir, sample_set.keys.root.verify_key)  # the default threshold
    small = encode_update(sample_set.keys.revocation, serial=2, issued_at=NOW, added=["P-9"])
    done = threading.Event()
    seen: list[int] = []

    def watch() -> None:
        while not done.is_set():
            seen.extend(_builders())
            done.wait(0.002)

    watcher = threading.Thread(target=watch, name="test-watch")
    watcher.start()
    try:
        store.apply_revocations(small)
        assert seen == []
        store.apply_revocations(big_snapshot)
        assert seen  # sampled every 2 ms; a builder lives a quarter second at least
    finally:
        done.set()
        watcher.join()
    assert store.snapshot().revocation_serial == 5
