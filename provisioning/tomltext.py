"""Configuration tables written as TOML by tomlkit, keeping a technician's comments on update."""

from __future__ import annotations

import math
from typing import Any

import tomlkit
from tomlkit.items import Table

# tomlkit rather than a hand-written writer: it escapes every control character
# TOML forbids in a basic string (U+007F included), and `update` keeps the
# comments and ordering of a file a technician edited.
HEADER = (
    "Checkpoint scanner configuration, written by checkpoint-provision.",
    "Paths are as seen on the unit. Check edits with: checkpoint-scanner check-config",
)


def _plain(value: Any) -> Any:
    """`value` with None dropped from tables, refusing what TOML cannot hold."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("configuration numbers must be finite")
    if isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"cannot write {type(value).__name__} to TOML")


def _fill(target: Any, table: dict[str, Any]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    for key, value in scalars.items():
        target[key] = value
    for key, value in table.items():
        if isinstance(value, dict):
            # A table holding only tables gets no header line of its own.
            only_tables = bool(value) and all(isinstance(v, dict) for v in value.values())
            sub = tomlkit.table(is_super_table=only_tables)
            _fill(sub, value)
            target[key] = sub


def dumps(table: dict[str, Any]) -> str:
    """TOML text for `table`, under the provisioning header; None values are left out."""
    document = tomlkit.document()
    for line in HEADER:
        document.add(tomlkit.comment(line))
    document.add(tomlkit.nl())
    _fill(document, _plain(table))
    return tomlkit.dumps(document)


def update(text: str, name: str, values: dict[str, Any]) -> str:
    """`text` with table `name` set to `values`, every other line and comment kept."""
    document = tomlkit.parse(text)
    plain = _plain(values)
    existing = document.get(name)
    if isinstance(existing, Table):
        for key in [k for k in existing if k not in plain]:
            del existing[key]
        for key, value in plain.items():
            existing[key] = value
    else:
        sub = tomlkit.table()
        _fill(sub, plain)
        document[name] = sub
    return tomlkit.dumps(document)
