"""selftest's broker check over mutual TLS, through the daemon's own connection code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.broker import TlsBroker
from support.pki import CertPair, Pki
from support.provisioning import enrolled, make_keys, run

FAST = ("--bench-seconds", "0.2", "--camera-seconds", "0.2", "--broker-timeout", "3")


def _unit_on(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    binary: str,
    pki: Pki,
    server: CertPair | None = None,
) -> tuple[Path, TlsBroker]:
    """A unit enrolled with a client certificate and the broker's CA, on the mTLS listener."""
    k = tmp_path / "K"
    make_keys(capsys, k)
    broker = TlsBroker(
        tmp_path / "broker",
        pki,
        server,
        password_file=tmp_path / "passwd",
        acl_file=tmp_path / "acl",
        binary=binary,
    )
    r = enrolled(
        capsys, k, tmp_path, "R",
        "--broker", broker.mtls_url,
        "--broker-ca", str(pki.ca_file),
        "--client-ca", str(pki.ca_file), "--client-ca-key", str(pki.ca_key_file),
    )  # fmt: skip
    broker.start()
    return r, broker


def _broker_check(capsys: pytest.CaptureFixture[str], r: Path) -> dict[str, str]:
    _, out, _ = run(capsys, "selftest", "--sysroot", str(r), "--json", *FAST)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    return checks["broker"]  # type: ignore[no-any-return]


def test_selftest_passes_the_broker_over_mutual_tls_with_the_enrolment_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mosquitto_binary: str
) -> None:
    r, broker = _unit_on(tmp_path, capsys, mosquitto_binary, Pki(tmp_path / "pki"))
    try:
        check = _broker_check(capsys, r)
    finally:
        broker.kill()
    assert check["status"] == "pass", check
    assert "client certificate (TLS, certificate verified)" in check["detail"]


def test_selftest_names_an_expired_broker_certificate_as_the_service_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mosquitto_binary: str
) -> None:
    pki = Pki(tmp_path / "pki")
    r, broker = _unit_on(tmp_path, capsys, mosquitto_binary, pki, pki.expired_server())
    try:
        check = _broker_check(capsys, r)
    finally:
        broker.kill()
    assert check["status"] == "fail"
    assert "broker certificate refused: certificate has expired" in check["detail"]
