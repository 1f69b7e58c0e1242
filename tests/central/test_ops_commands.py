"""The checkpoint-ops commands as written: enroll, trace (index-served), bench loader, simulate."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.broker import Broker

from ops import bench, cli
from ops.db import open_database
from ops.store import Store
from ops.views import TRACE_CHECKPOINT_SQL, TRACE_PASS_SQL, Views
from provisioning.enrollment import sign_request
from scanner.trust.identity import device_id_for


def test_enroll_takes_a_signed_request_and_refuses_a_forged_one(
    tmp_path: Path,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = SigningKey.generate()
    request = sign_request(key, {"checkpoint_id": "HN-HBT-01", "label": "Hang Bac"})
    path = tmp_path / "enroll.json"
    path.write_text(json.dumps(request, indent=2))
    assert cli.main(["enroll", "--db", db_url, "--request", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["enrolled"] == device_id_for(key.verify_key)
    store = Store(open_database(db_url))
    assert store.key(device_id_for(key.verify_key)) is not None
    store.db.close()
    forged = dict(request, checkpoint_id="ELSEWHERE")
    path.write_text(json.dumps(forged))
    assert cli.main(["enroll", "--db", db_url, "--request", str(path)]) == 2
    assert "signature" in capsys.readouterr().err
    other = SigningKey.generate()
    mismatched = [
        "enroll", "--db", db_url, "--device-id", device_id_for(key.verify_key),
        "--public-key", base64.b64encode(bytes(other.verify_key)).decode(),
        "--checkpoint", "X",
    ]  # fmt: skip
    assert cli.main(mismatched) == 2


def test_tracing_queries_are_answered_from_their_indexes(db_url: str) -> None:
    db = open_database(db_url)
    end = 1_800_000_000.0
    bench.load(db, 40_000, end)
    pass_id = str(db.query("SELECT pass_id FROM events WHERE seq = 7 LIMIT 1")[0][0])
    pass_plan = bench.explain(db, TRACE_PASS_SQL, (pass_id, 100))
    window = (int(end) - 86400, int(end) - 3600)
    checkpoint_plan = bench.explain(db, TRACE_CHECKPOINT_SQL, ("CP-0007", *window, 100))
    # Either the tracing side's covering index or the collector's schema index on
    # the same leading columns; on PostgreSQL each day partition has its own copy,
    # named by its columns (ops/partitions.py).
    assert "events_by_pass" in pass_plan or "pass_id_trusted_time" in pass_plan
    assert (
        "events_by_checkpoint" in checkpoint_plan or "checkpoint_id_trusted_time" in checkpoint_plan
    )
    views = Views(db)
    seen = views.trace_pass(pass_id)
    assert seen
    assert all(row["pass_id"] == pass_id for row in seen)
    assert [r["trusted_time"] for r in seen] == sorted(r["trusted_time"] for r in seen)
    through = views.trace_checkpoint("CP-0007", *window)
    assert through
    assert all(window[0] <= row["trusted_time"] < window[1] for row in through)
    assert views.trace_pass("'; DROP TABLE events; --") == []
    db.close()


def test_trace_command_prints_json_lines_and_formula_safe_csv(
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = open_database(db_url)
    bench.load(db, 5_000, 1_800_000_000.0)
    marked = db.execute("UPDATE events SET pass_id = '=HYPERLINK(1)' WHERE seq = 1")
    db.close()
    assert cli.main(["trace", "--db", db_url, "pass", "=HYPERLINK(1)"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == marked > 100  # seq 1 of every bench device that scanned
    assert json.loads(lines[0])["pass_id"] == "=HYPERLINK(1)"
    assert cli.main(["trace", "--db", db_url, "--csv", "pass", "=HYPERLINK(1)"]) == 0
    assert "'=HYPERLINK(1)" in capsys.readouterr().out
    argv = ["trace", "--db", db_url, "checkpoint", "CP-0001", "--from", "2027-01-01T00:00:00Z",
            "--to", "2027-12-31T00:00:00Z"]  # fmt: skip
    assert cli.main(argv) == 0
    assert (
        cli.main(["trace", "--db", db_url, "checkpoint", "CP-1", "--from", "x", "--to", "y"]) == 2
    )


def test_simulator_stores_every_event_exactly_once(
    broker: Broker,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--broker", broker.url, "--db", db_url, "--devices", "10",
            "--rate", "2", "--duration", "5", "--json"]  # fmt: skip
    assert cli.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["devices"] == 10
    assert summary["produced"] > 50
    assert summary["stored"] == summary["produced"]
    assert summary["gaps"] == 0
    assert summary["latency_ms"]["p95"] is not None  # a figure for the bench, not a test
    assert set(summary) >= {"devices", "produced", "stored", "duplicates", "gaps", "latency_ms"}
