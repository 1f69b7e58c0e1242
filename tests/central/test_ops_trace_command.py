"""`checkpoint-ops trace contacts` on both backends: the scenario, local times, CSV, audit."""

from __future__ import annotations

import csv
import io
import json

import pytest
from support.contacts import SCENARIO, SCENARIO_F1, SCENARIO_F2, SCENARIO_UNCERTAIN, insert_scans

from ops import cli
from ops.db import open_database

CONTACTS = ["--case", "P-CASE", "--from", "2026-11-26T07:30", "--to", "2026-11-26T18:00"]


@pytest.fixture
def scenario_db(db_url: str) -> str:
    db = open_database(db_url)
    insert_scans(db, SCENARIO)
    db.close()
    return db_url


def test_trace_contacts_json_gives_the_scenario_sets_with_local_times(
    scenario_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["trace", "--db", scenario_db, "contacts", *CONTACTS, "--window", "15m", "--json"]
    assert cli.main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    levels = {c["pass_id"]: c["level"] for c in document["contacts"]}
    assert {p for p, level in levels.items() if level == 1} == SCENARIO_F1
    assert {p for p, level in levels.items() if level == 2} == SCENARIO_F2
    assert {c["pass_id"] for c in document["contacts"] if c["uncertain"]} == SCENARIO_UNCERTAIN
    assert document["cut"] is None
    assert document["query"]["from"] == "2026-11-26T07:30:00+07:00"
    b1 = next(c for c in document["contacts"] if c["pass_id"] == "B1")
    assert (b1["contact_time"], b1["gap"], b1["same_unit"]) == (
        "2026-11-26T08:00:00+07:00",
        "30s",
        True,
    )


def test_trace_contacts_in_another_zone_and_depth_one(
    scenario_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["trace", "--db", scenario_db, "--zone", "UTC", "contacts", "--case", "P-CASE",
            "--from", "2026-11-26T00:30:00", "--to", "2026-11-26T11:00:00Z", "--depth", "1",
            "--json"]  # fmt: skip
    assert cli.main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert {c["pass_id"] for c in document["contacts"]} == SCENARIO_F1
    assert document["contacts"][0]["contact_time"].endswith("+00:00")


def test_trace_contacts_csv_is_formula_safe_and_says_when_cut(
    scenario_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = open_database(scenario_db)
    db.execute("UPDATE events SET pass_id = '=HYPERLINK(1)' WHERE pass_id = 'B4'")
    db.close()
    assert cli.main(["trace", "--db", scenario_db, "--csv", "contacts", *CONTACTS]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:2] == ["level", "pass_id"]
    assert "'=HYPERLINK(1)" in {row[1] for row in rows[1:]}
    assert len(rows) == 1 + len(SCENARIO_F1) + len(SCENARIO_F2)


def test_existing_traces_use_trusted_time_and_print_local_times(
    scenario_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["trace", "--db", scenario_db, "pass", "P-BEHIND"]) == 0
    row = json.loads(capsys.readouterr().out)
    # The behind unit's own clock said 08:05; the verifier's trusted time is what counts.
    assert row["trusted_time"] == "2026-11-26T10:05:00+07:00"
    assert row["wall_time"] == "2026-11-26T08:05:00+07:00"
    argv = ["trace", "--db", scenario_db, "checkpoint", "ND-02", "--from", "2026-11-26T10:00",
            "--to", "2026-11-26T10:10", "--json"]  # fmt: skip
    assert cli.main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["events"]) == 6
    assert document["cut"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--window", "soon"], "duration"),
        (["--depth", "4"], "invalid choice"),
        (["--to", "yesterday"], "ISO 8601"),
    ],
)
def test_bad_contact_arguments_are_one_line_errors(
    scenario_db: str, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert cli.main(["trace", "--db", scenario_db, "contacts", *CONTACTS, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_every_trace_is_in_the_audit(scenario_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["trace", "--db", scenario_db, "contacts", *CONTACTS]) == 0
    assert cli.main(["trace", "--db", scenario_db, "pass", "B2"]) == 0
    capsys.readouterr()
    assert cli.main(["audit", "--db", scenario_db, "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [(e["action"], e["role"], e["row_count"]) for e in entries] == [
        ("pass", "cli", 3),
        ("contacts", "cli", len(SCENARIO_F1) + len(SCENARIO_F2)),
    ]
    assert entries[1]["query"]["cases"] == ["P-CASE"]
