"""Files that are not configurations (truncated, binary, huge, missing, too deeply nested)
and `checkpoint-scanner check-config` through scanner.cli.dispatch.main.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.config import FULL, MINIMAL, _without_key, refusal, with_line

from scanner.cli import dispatch as cli
from scanner.config.load import MAX_CONFIG_BYTES, load, parse
from scanner.errors import ConfigError

# -- files that are not configurations ----------------------------------------------------


def test_truncated_file_is_refused_as_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(FULL[: FULL.index('checkpoint_id = "HN') + 20])
    with pytest.raises(ConfigError, match=r"scanner\.toml: not valid TOML"):
        load(path)


def test_binary_file_is_refused_as_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "scanner.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(ConfigError, match=r"scanner\.toml: not UTF-8 text"):
        load(path)


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(MINIMAL + "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))
    with pytest.raises(ConfigError, match="is not a configuration file"):
        load(path)


def test_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothing\.toml: cannot read"):
        load(tmp_path / "nothing.toml")


def test_directory_instead_of_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path)


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a=" * 3000 + "1" + "}" * 3000])
def test_deeply_nested_file_is_refused_as_a_config_error(nested: str) -> None:
    with pytest.raises(ConfigError):
        parse(MINIMAL + f"x = {nested}\n")


def test_integer_too_large_for_a_float_setting_is_refused_naming_its_path() -> None:
    text = with_line(
        "camera", "reopen_min_s = 1" + "0" * 400, _without_key(FULL, "camera", "reopen_min_s")
    )
    assert "camera.reopen_min_s" in refusal(text)


# -- check-config ---------------------------------------------------------------------------


def test_check_config_accepts_a_good_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(FULL)
    assert cli.main(["check-config", "--syntax-only", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "OK" in out
    assert "HN-HBT-01" in out


def test_check_config_json_prints_the_effective_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scanner.toml"
    path.write_text(MINIMAL)
    assert cli.main(["check-config", "--syntax-only", "--json", str(path)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    assert document["config"]["policy"]["expired_trust"] == "reject"
    assert document["config"]["lights"]["green_pin"] == 17


@pytest.mark.parametrize(
    "content",
    [
        with_line("lights", "blue_pin = 5").encode(),
        b"[device\ncheckpoint_id =",
        b"\xff\xfe\x00binary",
        (MINIMAL + "#" * MAX_CONFIG_BYTES).encode(),
    ],
    ids=["unknown-key", "truncated", "binary", "huge"],
)
def test_check_config_refuses_a_bad_file_with_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "scanner.toml"
    path.write_bytes(content)
    assert cli.main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {path}: ")


def test_check_config_on_a_missing_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check-config", str(tmp_path / "absent.toml")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "absent.toml: cannot read" in err
