"""Camera supervision without a camera or a clock: each test drives minutes of outages in ms."""

from __future__ import annotations

import math

from scanner.run.supervision import GIVE_UP_AFTER, CameraSupervisor, FirstFrame


def supervisor(watchdog_s: float | None = 1.0) -> CameraSupervisor:
    return CameraSupervisor(
        reopen_min_s=0.5, reopen_max_s=4.0, stall_s=3.0, watchdog_s=watchdog_s, now=0.0
    )


def test_a_new_camera_is_opened_at_once_and_its_first_frame_is_no_recovery() -> None:
    s = supervisor()
    assert s.may_reopen(0.0)
    s.opened(0.0)
    assert s.frame(0.1) == FirstFrame(down_s=None)
    assert s.frame(0.2) is None  # only the first frame of an opening is news


def test_reopens_back_off_doubling_up_to_the_maximum() -> None:
    s = supervisor()
    now, waits = 0.0, []
    for _ in range(6):
        s.failed(now)
        waits.append(s.wait_s(now))
        assert not s.may_reopen(now)
        now += waits[-1]
        assert s.may_reopen(now)
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_an_outage_starts_once_however_often_reopening_fails() -> None:
    s = supervisor()
    starts = [s.failed(float(t)) for t in range(5)]
    assert starts == [True, False, False, False, False]  # one camera_fault alert, not five


def test_the_first_frame_after_an_outage_reports_the_downtime_and_resets_the_backoff() -> None:
    s = supervisor()
    s.failed(10.0)
    s.failed(10.5)
    s.opened(11.5)
    assert s.frame(12.0) == FirstFrame(down_s=2.0)
    assert s.failures == 0
    s.closed(reader_stopped=True)
    s.failed(20.0)
    assert s.wait_s(20.0) == 0.5  # back to the minimum


def test_an_open_camera_without_frames_stalls_after_stall_s() -> None:
    s = supervisor()
    s.opened(0.0)
    s.frame(1.0)
    assert not s.stalled(4.0)
    assert s.stalled(4.01)
    assert not s.alive(4.01)  # no pets from a loop whose camera delivers nothing


def test_an_opened_camera_that_never_delivers_keeps_counting_towards_giving_up() -> None:
    s = supervisor()
    now = 0.0
    for _ in range(GIVE_UP_AFTER):
        s.opened(now)
        now += 3.5  # stalled: the loop closes it and counts a failure
        assert s.stalled(now)
        s.closed(reader_stopped=True)
        s.failed(now)
        now += s.wait_s(now)
    assert not s.alive(now)


def test_the_watchdog_is_petted_at_its_interval_while_reopening_goes_on() -> None:
    s = supervisor(watchdog_s=1.0)
    pets = []
    now = 0.0
    s.failed(now)
    while now < 3.0:
        if s.pet(now):
            pets.append(now)
        now = round(now + 0.25, 2)
    assert pets == [0.0, 1.0, 2.0]  # down but under our control: still alive


def test_the_watchdog_is_left_to_restart_us_after_give_up_after_failures() -> None:
    s = supervisor(watchdog_s=1.0)
    for t in range(GIVE_UP_AFTER - 1):
        s.failed(float(t))
    assert s.pet(100.0)
    s.failed(101.0)
    assert not s.pet(102.0)
    assert not s.pet(1000.0)


def test_a_reader_that_will_not_stop_is_never_reopened_and_stops_the_pets() -> None:
    s = supervisor(watchdog_s=1.0)
    s.opened(0.0)
    s.closed(reader_stopped=False)
    s.failed(0.0)
    assert s.stuck
    assert not s.may_reopen(1000.0)
    assert s.wait_s(1000.0) == math.inf
    assert not s.pet(1000.0)


def test_without_a_watchdog_nothing_is_petted() -> None:
    s = supervisor(watchdog_s=None)
    assert not s.pet(0.0)
