"""The pure contact-tracing function: the hand-built scenario and a brute-force reference."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.contacts import (
    SCENARIO,
    SCENARIO_F1,
    SCENARIO_F2,
    SCENARIO_QUERY,
    SCENARIO_UNCERTAIN,
    MemoryReads,
    at,
    brute_force,
)

from ops.contacts import Query, Scan, merge_windows, trace_contacts


def levels(contacts: list[object]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for contact in contacts:
        found.setdefault(contact.level, set()).add(contact.pass_id)  # type: ignore[attr-defined]
    return found


def test_the_scenario_gives_the_known_f1_and_f2() -> None:
    answer = trace_contacts(MemoryReads(SCENARIO), SCENARIO_QUERY)
    assert levels(answer.contacts) == {1: SCENARIO_F1, 2: SCENARIO_F2}
    assert {c.pass_id for c in answer.contacts if c.uncertain} == SCENARIO_UNCERTAIN
    assert answer.cut is None
    assert answer.case_scans == {"P-CASE": 2}  # the 06:00 scan is before T1
    by_pass = {c.pass_id: c for c in answer.contacts}
    b1, b3, f2 = by_pass["B1"], by_pass["B3"], by_pass["P-F2"]
    assert (b1.via, b1.checkpoint_id, b1.gap_s, b1.same_unit) == ("P-CASE", "HN-01", 30, True)
    assert (b1.via_time, b1.contact_time, b1.copresences) == (at("08:00:30"), at("08:00:00"), 2)
    assert (b3.same_unit, b3.copresences) == (False, 2)
    assert (f2.via, f2.checkpoint_id, f2.gap_s) == ("B2", "HP-03", 600)
    assert answer.contacts == brute_force(SCENARIO, SCENARIO_QUERY)


def test_depth_one_stops_at_f1_and_depth_three_finds_the_late_link() -> None:
    one = trace_contacts(MemoryReads(SCENARIO), dataclasses.replace(SCENARIO_QUERY, depth=1))
    assert levels(one.contacts) == {1: SCENARIO_F1}
    three = trace_contacts(MemoryReads(SCENARIO), dataclasses.replace(SCENARIO_QUERY, depth=3))
    assert levels(three.contacts) == {1: SCENARIO_F1, 2: SCENARIO_F2, 3: {"P-FAR"}}


def test_a_case_is_not_its_own_contact_even_through_another_case() -> None:
    query = dataclasses.replace(SCENARIO_QUERY, cases=("P-CASE", "B1"))
    answer = trace_contacts(MemoryReads(SCENARIO), query)
    assert {"P-CASE", "B1"}.isdisjoint(c.pass_id for c in answer.contacts)
    assert answer.contacts == brute_force(SCENARIO, query)


def test_an_answer_over_the_contact_limit_says_it_was_cut() -> None:
    answer = trace_contacts(MemoryReads(SCENARIO), SCENARIO_QUERY, max_contacts=3)
    assert len(answer.contacts) == 3
    assert answer.cut is not None
    assert "3" in answer.cut


def test_a_read_at_its_row_limit_says_the_answer_may_be_cut() -> None:
    answer = trace_contacts(MemoryReads(SCENARIO), SCENARIO_QUERY, read_limit=2)
    assert answer.cut is not None
    assert "limit" in answer.cut


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"cases": ()}, "case"), ({"depth": 4}, "depth"), ({"end": 0}, "ends before")],
)
def test_a_query_that_cannot_be_answered_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(SCENARIO_QUERY, **changes)  # type: ignore[arg-type]


PASSES = [f"P{i}" for i in range(8)]
scans = st.lists(
    st.builds(
        Scan,
        pass_id=st.sampled_from(PASSES),
        checkpoint_id=st.sampled_from(["C1", "C2", "C3"]),
        device_id=st.sampled_from(["d1", "d2"]),
        time=st.integers(0, 200),
        clock=st.sampled_from(["synced", "synced", "behind", "unsynced", "pinned", None]),
    ),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(
    scans=scans,
    cases=st.lists(st.sampled_from(PASSES), min_size=1, max_size=3, unique=True),
    start=st.integers(0, 150),
    length=st.integers(0, 100),
    window=st.integers(0, 40),
    depth=st.integers(1, 3),
)
def test_the_query_equals_a_brute_force_nested_loop(
    scans: list[Scan], cases: list[str], start: int, length: int, window: int, depth: int
) -> None:
    query = Query(tuple(cases), start, start + length, window, depth)
    answer = trace_contacts(MemoryReads(scans), query)
    assert answer.contacts == brute_force(scans, query)
    assert answer.cut is None


@given(st.lists(st.tuples(st.sampled_from("AB"), st.integers(0, 50), st.integers(0, 20))))
def test_merged_windows_cover_the_same_times_without_overlap(
    raw: list[tuple[str, int, int]],
) -> None:
    windows = [(c, a, a + n) for c, a, n in raw]
    merged = merge_windows(windows)
    covered = {(c, t) for c, a, b in windows for t in range(a, b + 1)}
    assert covered == {(c, t) for c, a, b in merged for t in range(a, b + 1)}
    for (c1, _, e1), (c2, s2, _) in itertools.pairwise(merged):
        assert c1 != c2 or s2 > e1
