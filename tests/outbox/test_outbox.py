"""The outbox on real SQLite files: durability, order, acks, bounds and shedding."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scanner.errors import OutboxFullError
from scanner.model import (
    ClockState,
    Fill,
    Holder,
    Outcome,
    PassInfo,
    PassKind,
    Reason,
    TrustState,
    Verdict,
)
from scanner.outbox.events import EventKind, OutboxEvent, StoredEvent
from scanner.outbox.queue import Outbox
from scanner.outbox.sqlite import open_database

SMALL = 256 * 1024


def scan(n: int = 0) -> OutboxEvent:
    return OutboxEvent(
        kind=EventKind.SCAN,
        device_id="dev-1",
        checkpoint_id="cp-1",
        wall_time=1_700_000_000.0 + n,
        clock=ClockState.SYNCED,
        trusted_time=1_700_000_000 + n,
        outcome=Outcome.ACCEPT,
        pass_id=f"PASS-{n:06d}",
        issuer_kid="a1b2c3d4",
        bundle_version=3,
        revocation_serial=17,
        decode_ms=4.5,
    )


def telemetry(n: int = 0) -> OutboxEvent:
    return OutboxEvent(
        kind=EventKind.TELEMETRY,
        device_id="dev-1",
        checkpoint_id="cp-1",
        wall_time=1_700_000_000.0 + n,
        clock=ClockState.SYNCED,
        code="stats",
        detail={"frames_per_s": 29.9, "n": n},
    )


def fill_until_full(outbox: Outbox, make: Callable[[int], OutboxEvent]) -> list[int]:
    """Record until the store refuses; the refusal must be the typed error."""
    recorded: list[int] = []
    for i in range(100_000):
        try:
            recorded.append(outbox.record(make(i)))
        except OutboxFullError:
            return recorded
    raise AssertionError("the store never filled up")


def test_record_returns_strictly_increasing_seqs(tmp_path: Path) -> None:
    with Outbox(tmp_path) as outbox:
        seqs = [outbox.record(scan(i)) for i in range(5)]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5


def test_seqs_never_repeat_after_everything_was_acked_and_reopened(tmp_path: Path) -> None:
    with Outbox(tmp_path) as outbox:
        first = [outbox.record(scan(i)) for i in range(3)]
        outbox.ack(first)
        assert outbox.depth() == 0
    with Outbox(tmp_path) as outbox:
        after = outbox.record(scan(9))
    assert after > max(first)


def test_committed_events_survive_close_without_ack(tmp_path: Path) -> None:
    with Outbox(tmp_path) as outbox:
        seqs = [outbox.record(scan(i)) for i in range(3)]
        store_id = outbox.store_id
    with Outbox(tmp_path) as outbox:
        assert [event.seq for event in outbox.read_batch(10, 1 << 20)] == seqs
        assert outbox.store_id == store_id
        assert outbox.integrity_check() == "ok"


def test_store_uses_wal_and_full_sync(tmp_path: Path) -> None:
    # WAL is a property of the file: a second connection sees what the outbox set.
    with Outbox(tmp_path) as outbox, closing(sqlite3.connect(outbox.path)) as other:
        mode = other.execute("PRAGMA journal_mode").fetchone()[0]
    # synchronous is per connection: read it from the opener the outbox uses.
    db, _ = open_database(tmp_path / "other.sqlite3")
    with closing(db):
        sync = db.execute("PRAGMA synchronous").fetchone()[0]
    assert mode == "wal"
    assert sync == 2  # FULL


def test_read_batch_is_in_order_and_bounded_by_count(tmp_path: Path) -> None:
    with Outbox(tmp_path) as outbox:
        seqs = [outbox.record(scan(i)) for i in range(10)]
        batch = outbox.read_batch(4, 1 << 20)
    assert [event.seq for event in batch] == seqs[:4]


def test_read_batch_is_bounded_by_bytes_but_never_empty(tmp_path: Path) -> None:
    with Outbox(tmp_path) as outbox:
        for i in range(10):
            outbox.record(scan(i))
        one = outbox.read_batch(10, 10)
        size = len(one[0].json) + 1
        three = outbox.read_batch(10, 3 * size + 1)
    assert len(one) == 1
    assert len(three) == 3


def test_stored_json_starts_with_seq_and_has_the_decision_fields(tmp_path: Path) -> None:
    with Outbox(tmp_path) as outbox:
        seq = outbox.record(scan(1))
        (event,) = outbox.read_batch(1, 1 << 20)
    document = json.loads(event.json)
    assert event.json.startswith(f'{{"seq":{seq},')
    assert document["outcome"] == "accept"
    assert document["pass_id"] == "PASS-000001"
    assert document["issuer_kid"] == "a1b2c3d4"
    assert document["revocation_serial"] == 17


def test_ack_deletes_only_the_named_events(tmp_path: Path) -> None:
    with Outbox(tmp_path) as outbox:
        seqs = [outbox.record(scan(i)) for i in range(5)]
        assert outbox.ack([seqs[1], seqs[3], 999_999]) == 2
        assert [event.seq for event in outbox.read_batch(10, 1 << 20)] == [
            seqs[0],
            seqs[2],
            seqs[4],
        ]
        assert outbox.depth() == 3


def test_oldest_unsent_age_follows_the_clock(tmp_path: Path) -> None:
    now = [1000.0]
    with Outbox(tmp_path, clock=lambda: now[0]) as outbox:
        assert outbox.oldest_unsent_age() is None
        seq = outbox.record(scan())
        now[0] = 1042.0
        outbox.record(scan(1))
        assert outbox.oldest_unsent_age() == 42.0
        outbox.ack([seq])
        assert outbox.oldest_unsent_age() == 0.0


def test_scan_event_from_verdict_never_carries_holder_data(tmp_path: Path) -> None:
    holder = Holder(name="Maria Example-Holder", id_last4="4321")
    info = PassInfo(
        pass_id="P-77",
        issuer="MOI",
        kid=b"\x01\x02",
        kind=PassKind.TRAVEL,
        holder=holder,
        issued_at=1,
        not_before=1,
        expires_at=2,
    )
    verdict = Verdict(
        outcome=Outcome.REJECT,
        reason=Reason.EXPIRED,
        trust=TrustState.FRESH,
        clock=ClockState.UNSYNCED,
        now=1_700_000_000,
        kid=b"\x01\x02",
        info=info,
        bundle_version=4,
        revocation_serial=9,
    )
    event = OutboxEvent.scan(
        verdict, device_id="d", checkpoint_id="c", wall_time=1.5, decode_ms=3.0
    )
    with Outbox(tmp_path) as outbox:
        outbox.record(event)
        stored = outbox.read_batch(1, 1 << 20)[0].json
    raw = (tmp_path / "outbox.sqlite3").read_bytes()
    assert "Maria" not in stored
    assert "4321" not in stored
    assert b"Maria" not in raw
    assert '"pass_id":"P-77"' in stored
    assert '"issuer_kid":"0102"' in stored
    assert '"reason":"expired"' in stored


def test_fill_levels_are_reported_at_50_80_and_95_percent(tmp_path: Path) -> None:
    levels: list[Fill] = []
    with Outbox(tmp_path, max_bytes=SMALL, on_fill=levels.append) as outbox:
        n = 0
        while outbox.fill() < Fill.CRITICAL:
            outbox.record(scan(n))
            n += 1
        assert levels == [Fill.HALF, Fill.HIGH, Fill.CRITICAL]
        everything = outbox.read_batch(100_000, 1 << 30)
        outbox.ack(everything)
        assert levels[-1] == Fill.OK
        assert outbox.fill() == Fill.OK


def test_a_full_store_refuses_scans_with_a_typed_error_and_keeps_the_rest(tmp_path: Path) -> None:
    with Outbox(tmp_path, max_bytes=SMALL) as outbox:
        recorded = fill_until_full(outbox, scan)
        assert outbox.depth() == len(recorded)
        assert outbox.used_bytes() <= SMALL
        # Room again once the uplink got some through.
        outbox.ack(recorded[:100])
        assert outbox.record(scan(0)) > recorded[-1]


def test_a_full_store_sheds_telemetry_before_refusing_a_scan(tmp_path: Path) -> None:
    with Outbox(tmp_path, max_bytes=SMALL) as outbox:
        tele = []
        while outbox.fill() < Fill.CRITICAL:
            tele.append(outbox.record(telemetry(len(tele))))
        scans = fill_until_full(outbox, scan)
        batch = outbox.read_batch(100_000, 1 << 30)
    kinds = {event.kind for event in batch}
    # All telemetry went before the first scan was refused...
    assert EventKind.TELEMETRY not in kinds
    assert len(scans) > len(tele) // 2
    # ...yet every number is still accounted for: shed ranges cover the telemetry.
    covered: set[int] = set()
    for event in batch:
        if event.kind is EventKind.SHED:
            through = json.loads(event.json)["through"]
            covered.update(range(event.seq, through + 1))
        else:
            covered.add(event.seq)
    assert covered == set(tele) | set(scans)


def test_telemetry_above_the_critical_level_keeps_only_its_number(tmp_path: Path) -> None:
    with Outbox(tmp_path, max_bytes=SMALL) as outbox:
        while outbox.fill() < Fill.CRITICAL:
            outbox.record(scan(0))
        seq = outbox.record(telemetry(1))
        last = outbox.read_batch(100_000, 1 << 30)[-1]
    assert last.seq == seq
    assert last.kind is EventKind.SHED
    assert last.json == f'{{"seq":{seq},"kind":"shed","through":{seq}}}'


def test_acking_a_shed_range_by_its_first_number_removes_it(tmp_path: Path) -> None:
    with Outbox(tmp_path, max_bytes=SMALL) as outbox:
        while outbox.fill() < Fill.CRITICAL:
            outbox.record(scan(0))
        outbox.record(telemetry(1))
        depth = outbox.depth()
        last = outbox.read_batch(100_000, 1 << 30)[-1]
        outbox.ack([last])
        assert outbox.depth() == depth - 1


def _covered(batch: list[StoredEvent]) -> set[int]:
    numbers: set[int] = set()
    for event in batch:
        numbers.update(range(event.seq, (event.through or event.seq) + 1))
    return numbers


@settings(max_examples=4, deadline=None)  # each example fills a store: about 1 s
@given(in_flight=st.integers(min_value=1, max_value=40), telemetry_count=st.integers(41, 300))
def test_telemetry_shed_while_its_batch_is_in_flight_leaves_no_gap(
    in_flight: int, telemetry_count: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, Outbox(Path(folder), max_bytes=SMALL) as outbox:
        numbers = set(outbox.record_many([telemetry(n) for n in range(telemetry_count)]))
        batch = outbox.read_batch(in_flight, 1 << 30)
        assert all(event.kind is EventKind.TELEMETRY for event in batch)
        # Scans fill the store: the telemetry of the batch in flight (the oldest) is shed
        # meanwhile. Some newer telemetry may stay: the scan that found the store full
        # rolled back the shedding that could not make room for it.
        numbers |= set(fill_until_full(outbox, scan))
        left = outbox.read_batch(10**5, 1 << 30)
        still_telemetry = {e.seq for e in left if e.kind is EventKind.TELEMETRY}
        assert not still_telemetry & {event.seq for event in batch}
        outbox.ack(batch)  # the broker acknowledged the batch after all
        waiting = _covered(outbox.read_batch(10**5, 1 << 30))
    # Every number reached central exactly once: in the batch, or waiting to be sent.
    delivered = {event.seq for event in batch}
    assert waiting | delivered == numbers
    assert not waiting & delivered


def test_acking_a_shed_range_that_changed_since_it_was_read_keeps_it(tmp_path: Path) -> None:
    with Outbox(tmp_path, max_bytes=SMALL) as outbox:
        outbox.record_many([telemetry(n) for n in range(50)])
        events = outbox.read_batch(5, 1 << 30)
        fill_until_full(outbox, scan)
        (shed,) = [e for e in outbox.read_batch(10**5, 1 << 30) if e.kind is EventKind.SHED]
        outbox.ack(events)
        outbox.ack([shed])  # read before the events were acked: it covered 1..50 then
        (left,) = [e for e in outbox.read_batch(10**5, 1 << 30) if e.kind is EventKind.SHED]
    assert (left.seq, left.through) == (6, 50)


def test_shed_is_not_a_recordable_kind(tmp_path: Path) -> None:
    event = OutboxEvent(EventKind.SHED, "d", "c", 0.0, ClockState.SYNCED)
    with Outbox(tmp_path) as outbox, pytest.raises(ValueError, match="shed"):
        outbox.record(event)


# -- property: any sequence of record / read / ack / reopen never loses an unacked event --


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="outbox-prop-"))
        self.outbox = Outbox(self.dir)
        self.unacked: set[int] = set()
        self.last_seq = 0
        self.last_read: list[int] = []

    @rule(count=st.integers(min_value=1, max_value=5))
    def record(self, count: int) -> None:
        for _ in range(count):
            seq = self.outbox.record(scan(self.last_seq))
            assert seq > self.last_seq
            self.last_seq = seq
            self.unacked.add(seq)

    @rule(max_events=st.integers(min_value=1, max_value=20), max_bytes=st.integers(1, 5000))
    def read(self, max_events: int, max_bytes: int) -> None:
        batch = [event.seq for event in self.outbox.read_batch(max_events, max_bytes)]
        assert batch == sorted(self.unacked)[: len(batch)]
        assert len(batch) <= max_events
        if self.unacked:
            assert batch
        self.last_read = batch

    @precondition(lambda self: bool(self.last_read))
    @rule(data=st.data())
    def ack_some_of_last_read(self, data: st.DataObject) -> None:
        chosen = data.draw(st.lists(st.sampled_from(self.last_read), unique=True))
        self.outbox.ack(chosen)
        self.unacked -= set(chosen)

    @rule(seqs=st.lists(st.integers(min_value=-5, max_value=500), max_size=5))
    def ack_arbitrary(self, seqs: list[int]) -> None:
        self.outbox.ack(seqs)
        self.unacked -= set(seqs)

    @rule()
    def reopen(self) -> None:
        self.outbox.close()
        self.outbox = Outbox(self.dir)

    @invariant()
    def nothing_unacked_is_lost(self) -> None:
        everything = self.outbox.read_batch(100_000, 1 << 30)
        assert [event.seq for event in everything] == sorted(self.unacked)
        assert self.outbox.depth() == len(self.unacked)

    def teardown(self) -> None:
        self.outbox.close()
        shutil.rmtree(self.dir, ignore_errors=True)


TestOutboxProperties = OutboxMachine.TestCase
TestOutboxProperties.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)


def test_integrity_check_reads_ok_from_a_separate_connection(tmp_path: Path) -> None:
    with Outbox(tmp_path) as outbox:
        outbox.record(scan())
    connection = sqlite3.connect(tmp_path / "outbox.sqlite3")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()
