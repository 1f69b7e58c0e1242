"""Schemathesis against the running API's /openapi.json, with a tracer's token: never a 500.

On PostgreSQL, which refuses what SQLite lets through (NUL in text, out-of-range integers).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from support.contacts import SCENARIO, insert_scans
from support.dashboard import Site, make_users, start_site

from ops.db import open_database


@pytest.fixture(scope="module")
def fuzz_site(postgres_admin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    name = f"ops_fuzz_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_admin.rsplit('/', 1)[0]}/{name}"
    db = open_database(url)
    insert_scans(db, SCENARIO)
    db.close()
    users = Path(tmp_path_factory.mktemp("fuzz")) / "users.json"
    yield from start_site(url, users, make_users(users))
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Driven by hand rather than by schemathesis.pytest, whose fixture loader reads a private
# attribute that pytest 9 no longer has (AttributeError: _nodeid).
def test_no_request_gets_a_server_error(fuzz_site: Site) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_site.url}/openapi.json")
    headers = {"Authorization": f"Bearer {fuzz_site.tokens['tracer']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        call()
