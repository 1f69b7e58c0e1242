"""One decision per pass held in view; a new one after it was away for the gap."""

from __future__ import annotations

import pytest

from scanner.decide.debounce import DebounceConfig, Debouncer


def test_a_pass_held_in_view_gives_one_decision() -> None:
    d = Debouncer(DebounceConfig(gap_s=1.0))
    decisions = [d.feed([b"pass-a"], now=t / 15) for t in range(45)]  # 3 s at 15 fps
    assert decisions[0] == [b"pass-a"]
    assert all(x == [] for x in decisions[1:])


def test_missed_frames_shorter_than_the_gap_do_not_count_as_leaving() -> None:
    d = Debouncer(DebounceConfig(gap_s=1.0))
    assert d.feed([b"a"], 0.0) == [b"a"]
    assert d.feed([], 0.5) == []
    assert d.feed([b"a"], 0.9) == []


def test_same_pass_after_the_gap_gives_a_new_decision() -> None:
    d = Debouncer(DebounceConfig(gap_s=1.0))
    assert d.feed([b"a"], 10.0) == [b"a"]
    assert d.feed([], 10.5) == []
    assert d.feed([b"a"], 11.0) == [b"a"]


def test_a_different_pass_gets_its_own_decision_and_order_is_kept() -> None:
    d = Debouncer()
    assert d.feed([b"a"], 0.0) == [b"a"]
    assert d.feed([b"b", b"a", b"c"], 0.1) == [b"b", b"c"]


def test_the_same_code_twice_in_one_frame_is_one_decision() -> None:
    assert Debouncer().feed([b"a", b"a"], 0.0) == [b"a"]


def test_reset_forgets_every_pass() -> None:
    d = Debouncer()
    d.feed([b"a"], 0.0)
    d.reset()
    assert d.feed([b"a"], 0.1) == [b"a"]


def test_gap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        DebounceConfig(gap_s=0)
