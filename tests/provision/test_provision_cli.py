"""The commands of issue 2, exactly as written, run in a fresh directory through main(argv)."""

from __future__ import annotations

import base64
import json
import re
import stat
from pathlib import Path
from typing import Any

import cv2
import pytest
import zxingcpp

from provisioning import cli as provision_cli
from scanner.camera.images import load_gray
from scanner.cli import dispatch as scanner_cli
from scanner.decide.decode import Decoder
from scanner.formats.qrimage import render_qr

BUNDLE_ARGS = [
    "trust-bundle",
    "--root-key", "K/root.key",
    "--issuer-pub", "K/issuer.pub",
    "--revocation-pub", "K/revocation.pub",
    "--version", "1",
    "--expires", "2030-01-01T00:00:00Z",
    "--out", "K/bundle.cose",
]  # fmt: skip
ISSUE_ARGS = [
    "issue",
    "--issuer-key", "K/issuer.key",
    "--pass-id", "P-000123",
    "--holder", "NGUYEN VAN A",
    "--not-before", "2026-11-01T00:00:00Z",
    "--not-after", "2026-12-31T00:00:00Z",
    "--out", "K/p1",
]  # fmt: skip
REVOKE_ARGS = [
    "revoke",
    "--revocation-key", "K/revocation.key",
    "--serial", "1",
    "--pass-id", "P-000123",
    "--out", "K/rev-1.cose",
]  # fmt: skip
SCAN_TRUST = ["--root-pub", "K/root.pub", "--bundle", "K/bundle.cose"]
AT = ["--at", "2026-12-01T00:00:00Z"]


def provision(argv: list[str]) -> int:
    return provision_cli.main(argv)


def scan(argv: list[str]) -> int:
    return scanner_cli.main(["scan", *argv])


def _records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def keys(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    for role in ("root", "issuer", "revocation"):
        assert provision(["keygen", "--role", role, "--out", f"K/{role}"]) == 0
    capsys.readouterr()
    return workdir / "K"


@pytest.fixture
def issued(keys: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Keys, bundle, pass P-000123 and revocation update 1, made by the issue's commands."""
    assert provision(BUNDLE_ARGS) == 0
    assert provision(ISSUE_ARGS) == 0
    assert provision(REVOKE_ARGS) == 0
    capsys.readouterr()
    return keys


# --- keygen --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["root", "issuer", "revocation"])
def test_keygen_writes_a_0600_private_key_and_a_public_key(
    workdir: Path, capsys: pytest.CaptureFixture[str], role: str
) -> None:
    assert provision(["keygen", "--role", role, "--out", f"K/{role}"]) == 0
    private, public = workdir / f"K/{role}.key", workdir / f"K/{role}.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().startswith("ed25519-pub:")
    assert private.read_text() != public.read_text()
    assert re.search(r"\b[0-9a-f]{16}\b", capsys.readouterr().out), "the kid is printed"


def test_keygen_json_prints_the_kid_as_16_hex_characters(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert provision(["keygen", "--role", "root", "--out", "K/root", "--json"]) == 0
    (record,) = _records(capsys.readouterr().out)
    assert re.fullmatch(r"[0-9a-f]{16}", record["kid"])


def test_keygen_refuses_to_overwrite_an_existing_key(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (keys / "root.key").read_bytes(), (keys / "root.pub").read_bytes()
    assert provision(["keygen", "--role", "root", "--out", "K/root"]) != 0
    err = capsys.readouterr().err
    assert "exists" in err
    assert len(err.strip().splitlines()) == 1
    assert ((keys / "root.key").read_bytes(), (keys / "root.pub").read_bytes()) == before


def test_keygen_refuses_to_overwrite_a_private_key_without_its_public_half(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (keys / "root.pub").unlink()
    before = (keys / "root.key").read_bytes()
    assert provision(["keygen", "--role", "root", "--out", "K/root"]) != 0
    assert (keys / "root.key").read_bytes() == before
    assert "refusing" in capsys.readouterr().err


# --- trust-bundle, issue, revoke -----------------------------------------------------


def test_issue_commands_write_bundle_pass_text_png_and_revocation(issued: Path) -> None:
    assert (issued / "bundle.cose").stat().st_size > 0
    assert (issued / "rev-1.cose").stat().st_size > 0
    assert (issued / "p1.txt").read_text().startswith("CP1:")
    assert (issued / "p1.png").read_bytes().startswith(b"\x89PNG")


def test_issued_png_decodes_to_the_issued_text(issued: Path) -> None:
    image = cv2.imread(str(issued / "p1.png"), cv2.IMREAD_GRAYSCALE)
    codes = zxingcpp.read_barcodes(image)
    assert [c.text for c in codes] == [(issued / "p1.txt").read_text().strip()]
    assert codes[0].format == zxingcpp.BarcodeFormat.QRCode


def test_issue_refuses_a_private_key_readable_by_others(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (issued / "issuer.key").chmod(0o644)
    (issued / "p1.txt").unlink()
    assert provision(ISSUE_ARGS) == 2
    err = capsys.readouterr().err
    assert "issuer.key" in err
    assert "readable" in err or "644" in err
    assert len(err.strip().splitlines()) == 1
    assert not (issued / "p1.txt").exists()


def test_issue_refuses_a_public_key_given_as_the_issuer_key(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a if a != "K/issuer.key" else "K/issuer.pub" for a in ISSUE_ARGS]
    (issued / "issuer.pub").chmod(0o600)
    assert provision(argv) == 2
    assert "public key" in capsys.readouterr().err


# --- scan ----------------------------------------------------------------------------


def test_scan_json_accepts_the_issued_pass_png(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scan([*SCAN_TRUST, *AT, "--json", "K/p1.png"]) == 0
    (record,) = _records(capsys.readouterr().out)
    assert {"source", "codes", "decode_ms"} <= set(record)
    assert record["source"] == "K/p1.png"
    assert isinstance(record["decode_ms"], int | float)
    (code,) = record["codes"]
    assert {"text", "verdict", "reason", "pass_id", "trust", "clock"} <= set(code)
    assert code["text"] == (issued / "p1.txt").read_text().strip()
    assert code["verdict"] == "accept"
    assert code["reason"] is None
    assert code["pass_id"] == "P-000123"
    assert code["trust"] in {"fresh", "stale"}
    assert code["clock"] == "pinned"


def test_scan_with_the_revocation_update_rejects_the_pass_as_revoked(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*SCAN_TRUST, "--revocations", "K/rev-1.cose", *AT, "--json", "K/p1.png"]
    assert scan(argv) == 0
    (record,) = _records(capsys.readouterr().out)
    (code,) = record["codes"]
    assert code["verdict"] == "reject"
    assert code["reason"] == "revoked"
    assert code["pass_id"] == "P-000123"


def test_scan_text_verifies_the_qr_text_without_an_image(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (issued / "p1.txt").read_text().strip()
    assert scan([*SCAN_TRUST, *AT, "--json", "--text", text]) == 0
    (record,) = _records(capsys.readouterr().out)
    assert record["codes"][0]["verdict"] == "accept"
    assert record["codes"][0]["text"] == text


@pytest.mark.parametrize(
    ("at", "reason"),
    [("2026-10-01T00:00:00Z", "not_yet_valid"), ("2027-01-01T00:00:00Z", "expired")],
)
def test_scan_at_pins_the_clock_for_the_verdict(
    issued: Path, capsys: pytest.CaptureFixture[str], at: str, reason: str
) -> None:
    assert scan([*SCAN_TRUST, "--at", at, "--json", "K/p1.png"]) == 0
    (record,) = _records(capsys.readouterr().out)
    assert record["codes"][0]["reason"] == reason


def test_scan_without_trust_only_decodes_with_a_null_verdict(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scan(["--json", "K/p1.png"]) == 0
    (record,) = _records(capsys.readouterr().out)
    (code,) = record["codes"]
    assert code["text"].startswith("CP1:")
    assert code["verdict"] is None
    assert code["reason"] is None


def test_scan_refuses_a_bundle_not_signed_by_the_given_root_with_exit_2(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert provision(["keygen", "--role", "root", "--out", "K/other-root"]) == 0
    capsys.readouterr()
    argv = ["--root-pub", "K/other-root.pub", "--bundle", "K/bundle.cose", *AT, "K/p1.png"]
    assert scan([*argv, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "root" in captured.err


def test_scan_reports_unreadable_files_per_file_and_still_scans_the_others(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (issued / "notes.png").write_text("not an image at all\n")
    (issued / "empty.png").write_bytes(b"")
    argv = [*SCAN_TRUST, *AT, "--json", "K/notes.png", "K/empty.png", "K/p1.png"]
    status = scan(argv)
    records = {r["source"]: r for r in _records(capsys.readouterr().out)}
    assert set(records) == {"K/notes.png", "K/empty.png", "K/p1.png"}
    for bad in ("K/notes.png", "K/empty.png"):
        assert records[bad]["error"]
        assert records[bad]["codes"] == []
    assert "error" not in records["K/p1.png"]
    assert records["K/p1.png"]["codes"][0]["verdict"] == "accept"
    assert status != 0, "a file that could not be read is a failure of the run"


def test_scan_of_an_image_without_a_qr_code_reports_no_codes(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = cv2.imread(str(issued / "p1.png"), cv2.IMREAD_GRAYSCALE)
    blank[:] = 255
    cv2.imwrite(str(issued / "blank.png"), blank)
    assert scan([*SCAN_TRUST, *AT, "--json", "K/blank.png"]) == 0
    (record,) = _records(capsys.readouterr().out)
    assert record["codes"] == []


def test_scan_without_inputs_is_a_usage_error(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scan([*SCAN_TRUST, *AT, "--json"]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_unknown_subcommands_exit_2_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert provision_cli.main(["frobnicate"]) == 2
    assert scanner_cli.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'; choose from" in capsys.readouterr().err


# -- scan: what it says it did (issue 13, items 6-8) --------------------------------------


def test_scan_revocations_takes_one_file_and_leaves_the_image(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # nargs='+' used to swallow p1.png as a second revocation file.
    assert scan([*SCAN_TRUST, *AT, "--json", "--revocations", "K/rev-1.cose", "K/p1.png"]) == 0
    (record,) = _records(capsys.readouterr().out)
    assert record["codes"][0]["reason"] == "revoked"


def test_scan_without_trust_data_says_not_verified(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan(["K/p1.png"])
    out = capsys.readouterr().out
    assert out.strip() == "K/p1.png: not verified (no trust data)"
    scan(["--json", "K/p1.png"])
    (record,) = _records(capsys.readouterr().out)
    assert record["codes"][0]["status"] == "not verified (no trust data)"


def test_scan_without_a_state_dir_keeps_its_clock_floor_in_memory_and_says_nothing(
    issued: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # It tried to persist the floor under /nonexistent and logged the failure.
    assert scan([*SCAN_TRUST, "--json", "K/p1.png"]) == 0
    captured = capsys.readouterr()
    assert "clock floor" not in captured.err + caplog.text
    (record,) = _records(captured.out)
    assert record["codes"][0]["verdict"] in {"accept", "reject"}  # by today's date


def test_scan_json_text_is_the_decoders_text_and_binary_is_base64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "zxing-qrcode"
    if not corpus.is_dir():
        pytest.skip("no shared corpus here")
    images = sorted(p for p in corpus.rglob("*") if p.suffix in (".png", ".jpg", ".webp"))
    binary = tmp_path / "binary.png"
    cv2.imwrite(str(binary), render_qr(bytes(range(256))[::-1]))
    assert scan(["--json", *map(str, images), str(binary)]) == 0
    records = {r["source"]: r for r in _records(capsys.readouterr().out)}
    decoder = Decoder()
    differs = 0
    for image in images:
        codes = decoder.decode(load_gray(image)).codes
        got = records[str(image)]["codes"]
        assert [c["text"] for c in got] == [None if c.binary else c.text for c in codes], image
        differs += any(c.text != c.content.decode("utf-8", "replace") for c in codes)
    assert differs > 0  # Shift-JIS and other non-UTF-8 codes are in the corpus
    (code,) = records[str(binary)]["codes"]
    assert code["text"] is None
    assert base64.b64decode(code["bytes_base64"]) == bytes(range(256))[::-1]
