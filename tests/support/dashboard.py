"""A running dashboard over a scenario database, its users, and plain HTTP requests to it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ops import users
from ops.dashboard.server import RunningDashboard, serve


@dataclass
class Site:
    url: str
    db_url: str
    dashboard: RunningDashboard
    tokens: dict[str, str]  # role -> token of a user with that role


def make_users(path: Path) -> dict[str, str]:
    """A tracer and an ops user, made with the real `user add` command; their tokens."""
    tokens = {}
    for name, role in (("tuyet", "tracer"), ("minh", "ops")):
        token_file = path.parent / f"{name}.token"
        assert users.main(["--users", str(path), "add", name, "--role", role,
                           "--token-file", str(token_file)]) == 0  # fmt: skip
        tokens[role] = token_file.read_text().strip()
    return tokens


@pytest.fixture
def users_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "users.json"
    return path, make_users(path)


def start_site(db_url: str, users_path: Path, tokens: dict[str, str]) -> Iterator[Site]:
    dashboard = serve(db_url, "127.0.0.1:0", users_path, stale_after_s=30)
    yield Site(f"http://127.0.0.1:{dashboard.port}", db_url, dashboard, tokens)
    dashboard.shutdown()


def get(
    url: str, token: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return (
                int(answer.status),
                answer.read(),
                {k.lower(): v for k, v in answer.headers.items()},
            )
    except urllib.error.HTTPError as exc:
        with exc:  # it holds the response: unclosed, its socket is left to the collector
            return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}


def get_json(url: str, token: str | None = None) -> tuple[int, object]:
    status, body, _ = get(url, token)
    return status, json.loads(body) if body else None
