"""Generated configuration files are valid TOML for any label, and updates keep comments."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.provisioning import init, make_keys

from provisioning import tomltext
from scanner.cli.dispatch import main as scanner

# Every code point a str can hold except lone surrogates (which UTF-8 cannot write).
LABELS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(label=LABELS, fps=st.floats(min_value=0.1, max_value=120))
def test_dumps_round_trips_through_tomllib(label: str, fps: float) -> None:
    table = {"device": {"label": label, "unset": None}, "camera": {"picamera2": {"fps": fps}}}
    parsed = tomllib.loads(tomltext.dumps(table))
    assert parsed == {"device": {"label": label}, "camera": {"picamera2": {"fps": fps}}}


def test_delete_character_in_a_label_is_valid_toml() -> None:
    assert tomllib.loads(tomltext.dumps({"device": {"label": "gate\x7f1"}})) == {
        "device": {"label": "gate\x7f1"}
    }


def test_update_keeps_comments_and_other_tables() -> None:
    text = '# site notes: pole 3\n[device]\nlabel = "x" # by the barrier\n[mqtt]\nbroker = "a"\n'
    updated = tomltext.update(text, "mqtt", {"broker": "mqtts://b", "username": "u"})
    assert "# site notes: pole 3" in updated
    assert "# by the barrier" in updated
    assert tomllib.loads(updated) == {
        "device": {"label": "x"},
        "mqtt": {"broker": "mqtts://b", "username": "u"},
    }


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys = tmp_path_factory.mktemp("K")
    make_keys(_Quiet(), keys)  # type: ignore[arg-type]
    return keys


class _Quiet:
    """Stands in for capsys where a module-scoped fixture cannot take it."""

    def readouterr(self) -> tuple[str, str]:
        return "", ""


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(label=LABELS)
def test_device_init_writes_any_label_as_valid_toml(
    central: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    label: str,
) -> None:
    root = tmp_path_factory.mktemp("R")
    code, _, err = init(capsys, central, root, f"--label={label}")
    assert code == 0, err
    path = root / "etc/checkpoint-scanner/scanner.toml"
    assert tomllib.loads(path.read_text(encoding="utf-8"))["device"]["label"] == label
    # check-config --print writes it back as TOML that reads the same.
    assert scanner(["check-config", "--sysroot", str(root), "--print", str(path)]) == 0
    assert tomllib.loads(capsys.readouterr().out)["device"]["label"] == label
