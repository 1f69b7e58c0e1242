"""The daemon end to end without a broker: decisions, lights and the outbox, a camera
that fails and comes back, stopping. Helpers and fixtures are in app_support.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable

from gpiozero.pins.mock import MockFactory
from support.app import (
    AMBER,
    BUZZER,
    GREEN,
    RED,
    WAIT_S,
    Decisions,
    LampLog,
    Running,
    Site,
    WatchedFactory,
    committed_alerts,
    committed_scans,
    fixture_site,  # noqa: F401 - fixtures
    fixture_start_app,  # noqa: F401 - fixtures
    presentation,
    replay_camera,
    write_frames,
)
from support.waiting import wait_until

from scanner.config.load import OutboxSection
from scanner.model import DeviceState, Reason

# -- decisions, lights and the outbox ---------------------------------------------------------


def test_passes_on_camera_light_green_or_red_and_each_decision_is_committed_first(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(
        site.directory / "frames",
        presentation([site.text("valid"), site.text("revoked"), site.text("not-a-pass")]),
    )
    factory = WatchedFactory()
    lamps = LampLog(site.outbox_file)
    factory.on_change = lamps
    decisions = Decisions()
    run = start_app(
        site.config(replay_camera(frames, loop=False)), pin_factory=factory, on_decision=decisions
    )
    made = decisions.wait_for(3)
    run.stop.set()
    run.thread.join(WAIT_S)

    verdicts = [d.verdict for d in made[:3]]
    assert [v.accepted for v in verdicts] == [True, False, False]
    assert [v.reason for v in verdicts] == [None, Reason.REVOKED, Reason.NOT_A_PASS]
    assert all(d.logged for d in made[:3])

    greens = [rows for pin, rows in lamps.lit if pin == GREEN]
    reds = [rows for pin, rows in lamps.lit if pin == RED]
    assert greens, "green never lit for the valid pass"
    assert reds, "red never lit for the rejects"
    # Durable before visible: when a lamp lit, the decision it showed was already on disk.
    assert {"outcome": "accept", "pass_id": "P-000001"}.items() <= greens[0][-1].items()
    assert reds[0][-1]["reason"] == "revoked"
    assert any(rows and rows[-1]["reason"] == "not_a_pass" for rows in reds)
    for rows in greens:
        assert any(r["outcome"] == "accept" for r in rows)
    for rows in reds:
        assert any(r["outcome"] == "reject" for r in rows)

    scans = committed_scans(site.outbox_file)
    assert [(s["outcome"], s["reason"], s["pass_id"]) for s in scans[:3]] == [
        ("accept", None, "P-000001"),
        ("reject", "revoked", "P-000666"),
        ("reject", "not_a_pass", None),
    ]
    assert all(s["device_id"] == site.device_id for s in scans)
    assert all(s["checkpoint_id"] == "CP-TEST" for s in scans)


def test_state_directory_never_holds_a_holder_name_or_raw_qr_text(
    site: Site, start_app: Callable[..., Running]
) -> None:
    shown = ["valid", "revoked", "not-a-pass", "forged"]
    frames = write_frames(
        site.directory / "frames", presentation([site.text(n) for n in shown], copies=6, gap=4)
    )
    decisions = Decisions()
    run = start_app(
        site.config(replay_camera(frames, loop=False)),
        pin_factory=MockFactory(),
        on_decision=decisions,
    )
    decisions.wait_for(4)
    run.stop.set()
    run.thread.join(WAIT_S)
    run.app.stop()  # close the outbox: everything in the WAL is on disk too

    stored = b"".join(p.read_bytes() for p in site.state.rglob("*") if p.is_file())
    assert len(committed_scans(site.outbox_file)) >= 4
    forbidden = ["NGUYỄN VĂN AN", "TRAN THI B", "TRAN THI C", "https://example.org/menu"]
    forbidden += [site.text(n)[:40] for n in shown if site.text(n).startswith("CP1:")]
    for text in forbidden:
        assert text.encode() not in stored, text
        assert text.encode("utf-16-le") not in stored, text


def test_pin_history_shows_green_steady_and_red_flashing(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(
        site.directory / "frames", presentation([site.text("valid"), site.text("expired")])
    )
    factory = MockFactory()
    decisions = Decisions()
    run = start_app(
        site.config(replay_camera(frames, loop=False)), pin_factory=factory, on_decision=decisions
    )
    decisions.wait_for(2)
    indicator = run.gpio_indicator()
    assert wait_until(lambda: not indicator.lamps().red)
    green = [s.state for s in factory.pin(GREEN).states]
    red = [s.state for s in factory.pin(RED).states]
    buzzer = [s.state for s in factory.pin(BUZZER).states]
    assert True in green
    assert True in red
    assert True in buzzer  # a beep with each verdict
    assert factory.pin(AMBER).states[-1].state is False  # healthy unit: no status pattern


def test_health_is_recorded_as_telemetry_the_outbox_may_shed(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(site.directory / "frames", presentation([site.text("valid")]))
    config = dataclasses.replace(
        site.config(replay_camera(frames, loop=True)),
        outbox=OutboxSection(telemetry_every_s=0.2),
    )
    run = start_app(config, pin_factory=MockFactory())
    outbox_file = run.app.outbox.path

    def telemetry() -> list[dict[str, object]]:
        db = sqlite3.connect(f"file:{outbox_file}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT body FROM events WHERE kind = 'telemetry'").fetchall()
        finally:
            db.close()
        return [json.loads(body) for (body,) in rows]

    assert wait_until(lambda: len(telemetry()) >= 2)
    record = telemetry()[0]
    assert record["code"] == "health"
    detail = record["detail"]
    assert isinstance(detail, dict)
    assert {"frames_per_s", "decode_ms.p95", "trust.bundle_version", "clock", "state"} <= set(
        detail
    )


# -- the camera fails and comes back ----------------------------------------------------------


def test_camera_fault_shows_fault_pattern_alerts_and_recovers_without_restart(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(
        site.directory / "frames", presentation([site.text("valid")], copies=6, gap=6)
    )
    away = site.directory / "frames-unplugged"
    factory = MockFactory()
    decisions = Decisions()
    run = start_app(
        site.config(replay_camera(frames, loop=True)), pin_factory=factory, on_decision=decisions
    )
    indicator = run.gpio_indicator()
    decisions.wait_for(1)
    assert indicator.state is DeviceState.IDLE

    frames.rename(away)  # the camera is gone: reads and reopens fail
    assert wait_until(lambda: indicator.state is DeviceState.FAULT)
    assert wait_until(lambda: factory.pin(AMBER).state)  # FAULT blinks the status lamp
    assert any(a["code"] == "camera_fault" for a in committed_alerts(site.outbox_file))
    supervisor = run.app.loop.supervisor
    assert wait_until(lambda: supervisor.failures >= 3)  # reopening fails again and again
    assert indicator.state is DeviceState.FAULT
    assert len(decisions.made) == 1
    assert [a["code"] for a in committed_alerts(site.outbox_file)].count("camera_fault") == 1

    away.rename(frames)  # plugged back in
    decisions.wait_for(2)
    assert wait_until(lambda: indicator.state is DeviceState.IDLE)
    assert wait_until(lambda: not factory.pin(AMBER).state)
    assert run.thread.is_alive()
    codes = [a["code"] for a in committed_alerts(site.outbox_file)]
    assert codes.index("camera_fault") < codes.index("camera_recovered")
    assert decisions.made[1].verdict.accepted


# -- stopping -------------------------------------------------------------------------------


def test_run_returns_soon_after_the_stop_event_is_set(
    site: Site, start_app: Callable[..., Running]
) -> None:
    frames = write_frames(site.directory / "frames", presentation([site.text("valid")]))
    run = start_app(site.config(replay_camera(frames, loop=True)), pin_factory=MockFactory())
    assert wait_until(lambda: run.app.loop.decisions > 0)  # the loop is turning
    run.stop.set()
    run.thread.join(5.0)
    assert not run.thread.is_alive()
    run.app.stop()
    run.app.stop()  # idempotent
