"""The `[display]` section: filled by the generic TOML converter, bad values named by key path."""

from __future__ import annotations

import tomllib

import pytest

from scanner.config.convert import build
from scanner.display.backends import open_display
from scanner.display.base import NullDisplay
from scanner.display.config import DisplayConfig
from scanner.errors import ConfigError


def load(text: str) -> DisplayConfig:
    return build(DisplayConfig, tomllib.loads(text)["display"], "display")


def test_defaults_are_no_display_in_vietnamese() -> None:
    config = load("[display]\n")
    assert config.backend == "none"
    assert config.language == "vi"
    assert 0 < config.clear_after_s <= 10


def test_an_oled_section() -> None:
    config = load(
        '[display]\nbackend = "oled"\nlanguage = "en"\noled_driver = "sh1106"\n'
        "oled_height = 128\ni2c_address = 0x3D\nclear_after_s = 4\n"
    )
    assert (config.oled_driver, config.oled_height, config.i2c_address) == ("sh1106", 128, 0x3D)
    assert config.clear_after_s == 4.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('backend = "lcd"', "display.backend: must be one of"),
        ('language = "fr"', "display.language: must be one of"),
        ("clear_after_s = 600", "clear_after_s: at most 60 s"),
        ("clear_after_s = 0", "clear_after_s: must be a positive number"),
        ("oled_height = 32", "supported sizes are 128x64, 128x128"),
        ("i2c_address = 0x80", "i2c_address: must be a 7-bit I2C address"),
        ("colour = true", "display.colour: unknown key"),
    ],
)
def test_bad_values_are_named(line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(f"[display]\n{line}\n")


def test_a_panel_that_cannot_open_is_reported_and_skipped() -> None:
    faults: list[str] = []
    config = DisplayConfig(backend="console", tty="/nonexistent/tty9")
    display = open_display(config, "CP-HN-01", on_fault=faults.append)
    assert isinstance(display, NullDisplay)
    assert faults == ["open_failed"]


def test_no_backend_is_a_null_display() -> None:
    assert isinstance(open_display(DisplayConfig(), "CP-HN-01"), NullDisplay)
