"""`checkpoint-scanner render-display`: the PNG is what the backend shows for that scan."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("luma.core.device", reason="needs the display extra (luma.oled)")

from PIL import Image
from support.display import NOW

from scanner.cli.dispatch import main
from scanner.demo import samples

AT = "2026-12-01T00:00:00Z"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("K")
    samples.build(NOW).write(directory)
    return directory


def render(keys: Path, out: Path, *extra: str) -> int:
    trust = ["--root-pub", str(keys / "root.pub"), "--bundle", str(keys / "bundle.cose")]
    return main(["render-display", *trust, "--at", AT, "--out", str(out), *extra])


def text_of(keys: Path, name: str) -> str:
    return (keys / f"{name}.txt").read_text().strip()


def test_oled_png_is_the_panel_frame(keys: Path, tmp_path: Path) -> None:
    out = tmp_path / "oled.png"
    assert render(keys, out, "--backend", "oled", "--text", text_of(keys, "valid")) == 0
    with Image.open(out) as image:
        assert image.size == (128, 64)
        levels = image.convert("L").histogram()
    assert levels[0] > 0
    assert levels[255] > 0
    assert sum(levels[1:255]) == 0  # 1-bit, as the panel shows


def test_oled_png_can_be_enlarged_for_the_readme(keys: Path, tmp_path: Path) -> None:
    out = tmp_path / "oled.png"
    args = ("--backend", "oled", "--scale", "3", "--text", text_of(keys, "expired"))
    assert render(keys, out, *args) == 0
    with Image.open(out) as image:
        assert image.size == (384, 192)


def test_console_png_and_text_view(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "console.png"
    args = ("--backend", "console", "--lang", "en", "--print-text", "--label", "CP-HN-01")
    assert render(keys, out, *args, "--text", text_of(keys, "forged")) == 0
    with Image.open(out) as image:
        assert image.size == (800, 480)
    printed = capsys.readouterr().out
    assert "REFUSED" in printed
    assert "Not a valid pass (signature)" in printed
    assert "Checkpoint CP-HN-01" in printed


def test_revocations_are_applied(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.png"
    rev = ("--revocations", str(keys / "rev-1.cose"))
    assert render(keys, out, *rev, "--print-text", "--text", text_of(keys, "revoked")) == 0
    assert "Đã bị thu hồi" in capsys.readouterr().out


def test_degraded_screen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.png"
    args = ["render-display", "--state", "degraded", "--reason", "trust_stale", "--lang", "en"]
    assert main([*args, "--offline-for", "90", "--at", AT, "--out", str(out), "--print-text"]) == 0
    printed = capsys.readouterr().out
    assert "Trust data stale" in printed
    assert "Offline for 1 h 30 min" in printed


def test_idle_screen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "i.png"
    args = ["render-display", "--idle", "--label", "CP-HN-01", "--backend", "oled"]
    assert main([*args, "--at", AT, "--out", str(out), "--print-text"]) == 0
    assert "SẴN SÀNG" in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.size == (128, 64)


@pytest.mark.parametrize(
    "argv",
    [
        ["--text", "CP1:X", "--out", "x.png"],  # no trust data to verify with
        ["--state", "degraded", "--out", "x.png"],  # degraded, but not why
        ["--idle", "--out", "x.png", "--oled-size", "96x16", "--backend", "oled"],
        ["--idle", "--out", "x.png", "--scale", "0"],
        ["--out", "x.png"],  # nothing to render
    ],
)
def test_bad_arguments_are_one_line_errors(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("x.png", str(tmp_path / "x.png")) for a in argv]
    assert main(["render-display", *argv]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "x.png").exists()


def test_a_bundle_not_signed_by_the_root_is_refused(keys: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    samples.build(NOW).write(other)
    args = ["render-display", "--root-pub", str(other / "root.pub")]
    args += [
        "--bundle",
        str(keys / "bundle.cose"),
        "--text",
        "CP1:X",
        "--out",
        str(tmp_path / "x.png"),
    ]
    assert main(args) == 2
