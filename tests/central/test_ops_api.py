"""The ops API on uvicorn: the scenario's contacts, roles, audit, throttled logins, users file."""

from __future__ import annotations

import csv
import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from support.contacts import SCENARIO, SCENARIO_F1, SCENARIO_F2, SCENARIO_UNCERTAIN, insert_scans
from support.dashboard import Site, get, get_json, start_site

from ops import cli
from ops.dashboard.auth import LoginThrottle
from ops.db import open_database
from ops.users import UsersFile

CONTACTS = urlencode(
    {"case": "P-CASE", "from": "2026-11-26T07:30", "to": "2026-11-26T18:00", "window": "15m"}
)


@pytest.fixture
def site(db_url: str, users_file: tuple[Path, dict[str, str]]) -> Iterator[Site]:
    db = open_database(db_url)
    insert_scans(db, SCENARIO)
    db.close()
    yield from start_site(db_url, *users_file)


def test_api_contacts_give_the_scenario_sets(site: Site) -> None:
    status, document = get_json(f"{site.url}/api/trace/contacts?{CONTACTS}", site.tokens["tracer"])
    assert status == 200
    assert isinstance(document, dict)
    found = {c["pass_id"]: c for c in document["contacts"]}
    assert {p for p, c in found.items() if c["level"] == 1} == SCENARIO_F1
    assert {p for p, c in found.items() if c["level"] == 2} == SCENARIO_F2
    assert {p for p, c in found.items() if c["uncertain"]} == SCENARIO_UNCERTAIN
    assert found["P-F2"]["via"] == "B2"
    assert found["P-F2"]["contact_time"] == "2026-11-26T14:10:00+07:00"
    assert document["cut"] is None
    status, body, headers = get(
        f"{site.url}/api/trace/contacts.csv?{CONTACTS}", site.tokens["tracer"]
    )
    assert status == 200
    assert headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert {r["pass_id"] for r in rows} == SCENARIO_F1 | SCENARIO_F2


def test_roles_are_enforced(site: Site) -> None:
    tracer, ops = site.tokens["tracer"], site.tokens["ops"]
    refused = (f"/api/trace/contacts?{CONTACTS}", "/api/trace/pass?pass_id=B1",
               f"/api/trace/contacts.csv?{CONTACTS}", "/trace/contacts", "/trace/pass")  # fmt: skip
    for path in refused:
        assert get(site.url + path, ops)[0] == 403, path
    assert get(f"{site.url}/api/audit", tracer)[0] == 403
    assert get(f"{site.url}/audit", tracer)[0] == 403
    for token in (tracer, ops):
        assert get(f"{site.url}/api/fleet", token)[0] == 200
        assert get(f"{site.url}/api/snapshot", token)[0] == 200
    assert get_json(f"{site.url}/api/me", ops)[1] == {
        "name": "minh",
        "role": "ops",
        "zone": "Asia/Ho_Chi_Minh",
    }


def test_every_trace_is_audited_and_the_audit_is_for_ops(site: Site) -> None:
    tracer = site.tokens["tracer"]
    assert get(f"{site.url}/api/trace/contacts?{CONTACTS}", tracer)[0] == 200
    assert get(f"{site.url}/api/trace/pass?pass_id=B1", tracer)[0] == 200
    assert get(f"{site.url}/trace/pass?pass_id=B2", tracer)[0] == 200
    assert get(f"{site.url}/api/trace/contacts?{CONTACTS}", site.tokens["ops"])[0] == 403
    status, document = get_json(f"{site.url}/api/audit", site.tokens["ops"])
    assert status == 200
    assert isinstance(document, dict)
    entries = document["entries"]
    assert [(e["user_name"], e["action"], e["row_count"]) for e in entries] == [
        ("minh", "refused", 0),
        ("tuyet", "pass", 3),
        ("tuyet", "pass", 3),
        ("tuyet", "contacts", len(SCENARIO_F1) + len(SCENARIO_F2)),
    ]
    assert entries[-1]["query"]["cases"] == ["P-CASE"]
    assert entries[-1]["at"].endswith("+07:00")
    assert get(f"{site.url}/audit", site.tokens["ops"])[0] == 200


def test_requests_without_a_valid_login_are_refused_and_failures_throttled(site: Site) -> None:
    paths = ("/", "/api/snapshot", "/events", "/trace/pass?pass_id=B1",
             "/api/trace/pass?pass_id=B1", "/audit")  # fmt: skip
    for path in paths:
        assert get(site.url + path)[0] == 401, path
        assert get(site.url + path, headers={"Cookie": "ops_session=forged"})[0] == 401, path
    for _ in range(5):
        assert get(f"{site.url}/api/fleet", "cpo_wrong")[0] == 401
    status, _, headers = get(f"{site.url}/api/fleet", "cpo_wrong")
    assert status == 429
    assert int(headers["retry-after"]) > 0
    # Throttled means throttled: even the right token waits, so guessing cannot continue.
    assert get(f"{site.url}/api/fleet", site.tokens["tracer"])[0] == 429
    assert site.dashboard.refused >= 19


def test_the_login_throttle_refills_over_time() -> None:
    throttle = LoginThrottle(allowed=3, refill_s=10)
    for _ in range(3):
        assert throttle.blocked("a", 0) == 0
        throttle.failed("a", 0)
    assert throttle.blocked("a", 0) == 10
    assert throttle.blocked("b", 0) == 0  # per client address
    assert throttle.blocked("a", 9.9) > 0
    assert throttle.blocked("a", 10) == 0
    throttle.succeeded("a")
    assert throttle.blocked("a", 0) == 0


def test_pages_and_api_carry_the_strict_headers_and_the_spec_is_served(site: Site) -> None:
    status, _, headers = get(f"{site.url}/login")
    assert status == 200
    assert "script-src 'self'" in headers["content-security-policy"]
    status, spec, headers = get(f"{site.url}/openapi.json")
    assert status == 200
    paths = json.loads(spec)["paths"]
    assert {"/api/trace/contacts", "/api/fleet", "/api/audit"} <= set(paths)
    assert "/login" not in paths
    assert get(f"{site.url}/docs")[0] == 404  # Swagger UI would load from a CDN


def test_bad_contact_parameters_are_422_not_500(site: Site) -> None:
    tracer = site.tokens["tracer"]
    day = {"from": "2026-11-26T07:30", "to": "2026-11-26T18:00"}
    for query in ({"case": "P", "from": "x", "to": "2026-11-26T18:00"},
                  {"case": "P", **day, "window": "2d"},
                  {"case": "P\x00", **day},
                  {"case": "P", "from": "0001-01-01T00:00+14:00", "to": "2026-11-26T18:00"},
                  day):  # fmt: skip
        assert get(f"{site.url}/api/trace/contacts?{urlencode(query)}", tracer)[0] == 422, query


def test_users_file_is_private_and_a_removed_user_is_locked_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users.json"
    assert cli.main(["user", "--users", str(path), "add", "lan", "--role", "tracer"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cpo_")
    assert len(token) > 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token not in path.read_text()  # only its hash is kept
    users = UsersFile(path)
    found = users.authenticate(token)
    assert found is not None
    assert found.name == "lan"
    assert users.authenticate(token + "x") is None
    assert cli.main(["user", "--users", str(path), "remove", "lan"]) == 0
    assert users.authenticate(token) is None  # the file is read again when it changes
    path.chmod(0o644)
    assert cli.main(["user", "--users", str(path), "list"]) == 2
    assert "readable by others" in capsys.readouterr().err
    assert cli.main(["user", "--users", str(path), "add", "x y", "--role", "ops"]) == 2


def test_the_dashboard_refuses_a_token_on_its_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["dashboard", "--db", f"sqlite:///{tmp_path}/ops.db", "--users", str(tmp_path / "u"),
            "--token", "correct-horse-battery"]  # fmt: skip
    assert cli.main(argv) == 2
    assert "users file" in capsys.readouterr().err
