"""A configuration table written back as TOML text, deterministically, for provisioning."""

from __future__ import annotations

import json
import math
from typing import Any

HEADER = (
    "# Checkpoint scanner configuration, written by checkpoint-provision.\n"
    "# Paths are as seen on the unit. Check edits with: checkpoint-scanner check-config\n"
)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("configuration numbers must be finite")
        return repr(value)
    if isinstance(value, str):
        # A JSON string with ensure_ascii=False is a valid TOML basic string:
        # both escape " \ and control characters the same way.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise ValueError(f"cannot write {type(value).__name__} to TOML")


def _table(name: str, table: dict[str, Any], out: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if name and (scalars or not table):
        out.append(f"\n[{name}]")
    for key, value in scalars.items():
        out.append(f"{key} = {_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            _table(f"{name}.{key}" if name else key, value, out)


def dumps(table: dict[str, Any]) -> str:
    """TOML text for `table` (keys are identifiers; None values are left out)."""
    lines: list[str] = []
    _table("", _drop_none(table), lines)
    return HEADER + "\n".join(lines).lstrip("\n") + "\n"


def _drop_none(table: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _drop_none(v) if isinstance(v, dict) else v for k, v in table.items() if v is not None
    }
