"""A property: whatever TOML comes in, parse() returns a Config or raises ConfigError,
never anything else.
"""

from __future__ import annotations

import json
import math
import tomllib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.config import FULL

from scanner.config.load import Config, parse
from scanner.errors import ConfigError

# -- anything at all ------------------------------------------------------------------------

# The real key names, so that generated documents reach the typed conversion.
SECTIONS: dict[str, list[str]] = {
    "device": ["checkpoint_id", "label", "device_id", "state_dir", "key_file"],
    "trust": ["root_pub", "dir", "sync_flag"],
    "policy": ["stale_trust", "expired_trust", "untrusted_clock"],
    "camera": ["source", "reopen_min_s", "reopen_max_s", "picamera2", "opencv", "replay"],
    "decoder": ["budget_ms", "debounce_gap_s"],
    "lights": ["green_pin", "red_pin", "amber_pin", "buzzer_pin", "active_high", "accept_hold_s"],
    "outbox": ["max_bytes"],
    "mqtt": ["broker", "topic_root", "heartbeat_s", "batch_max_events", "password_file"],
}
ALL_KEYS = sorted({k for keys in SECTIONS.values() for k in keys} | set(SECTIONS))

toml_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x7f"),
    max_size=12,
)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    toml_text,
    st.sampled_from(["warn", "reject", "replay", "synthetic", "picamera2", "/tmp/x", "0"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(ALL_KEYS), toml_text), inner, max_size=4),
    ),
    max_leaves=12,
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    items = (f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(items) + "}"


def to_toml(document: dict[str, Any]) -> str:
    return "".join(
        f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}\n" for k, v in document.items()
    )


def _valid_document() -> dict[str, Any]:
    return tomllib.loads(FULL)


@st.composite
def edited_configs(draw: st.DrawFn) -> dict[str, Any]:
    """The full valid config with a few keys replaced, added or removed anywhere."""
    document = _valid_document()
    for _ in range(draw(st.integers(1, 4))):
        table: dict[str, Any] = document
        while True:
            tables = [k for k, v in table.items() if isinstance(v, dict)]
            if not tables or draw(st.booleans()):
                break
            table = table[draw(st.sampled_from(sorted(tables)))]
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if action == "delete" and table:
            del table[draw(st.sampled_from(sorted(table)))]
        elif action == "set" and table:
            table[draw(st.sampled_from(sorted(table)))] = draw(values)
        else:
            table[draw(st.one_of(st.sampled_from(ALL_KEYS), toml_text))] = draw(values)
    return document


def _parses_or_config_error(text: str) -> None:
    outcome: Config | ConfigError
    try:
        outcome = parse(text)
    except ConfigError as exc:
        outcome = exc
    assert isinstance(outcome, Config) or str(outcome).startswith("config: ")


@settings(max_examples=400, deadline=None)
@given(document=edited_configs())
def test_edited_config_gives_a_config_or_a_config_error(document: dict[str, Any]) -> None:
    text = to_toml(document)
    tomllib.loads(text)  # the generator writes real TOML
    _parses_or_config_error(text)


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(st.one_of(st.sampled_from(ALL_KEYS), toml_text), values, max_size=6)
)
def test_random_toml_document_gives_a_config_or_a_config_error(document: dict[str, Any]) -> None:
    text = to_toml(document)
    tomllib.loads(text)
    _parses_or_config_error(text)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_give_a_config_error(data: bytes) -> None:
    _parses_or_config_error(data.decode("utf-8", errors="replace"))
