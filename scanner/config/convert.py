"""TOML tables -> frozen dataclasses, with every error naming its key path.

The one generic converter behind `scanner.config.load`: each module keeps its own
settings dataclass, and this fills it from a table, rejecting unknown keys and
values of the wrong type instead of letting them surface hours later.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

from scanner.errors import ConfigError

T = TypeVar("T")


def _name(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def convert(tp: Any, value: Any, path: str) -> Any:
    """Convert one TOML value to the annotated type `tp`, or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _union(tp, value, path)
    if origin is typing.Literal:
        return _literal(tp, value, path)
    if origin is tuple:
        return _tuple(tp, value, path)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a table, got {value!r}")
        return build(tp, value, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp, value, path)
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: expected Path (a non-empty string), got {value!r}")
        return Path(value)
    if tp is float:
        return _float(value, path)
    return _scalar(tp, value, path)


def _union(tp: Any, value: Any, path: str) -> Any:
    options = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(options) == 1:  # `X | None`: None is "absent", so the value must be an X
        return convert(options[0], value, path)
    errors = []
    for option in options:
        try:
            return convert(option, value, path)
        except ConfigError as exc:
            errors.append(str(exc))
    wanted = " or ".join(_describe(o) for o in options)
    raise ConfigError(f"{path}: expected {wanted}, got {value!r}")


def _literal(tp: Any, value: Any, path: str) -> Any:
    if value not in typing.get_args(tp):
        allowed = ", ".join(repr(a) for a in typing.get_args(tp))
        raise ConfigError(f"{path}: must be one of {allowed}, got {value!r}")
    return value


def _tuple(tp: Any, value: Any, path: str) -> tuple[Any, ...]:
    item = typing.get_args(tp)[0]
    if not isinstance(value, list):
        raise ConfigError(f"{path}: expected a list, got {value!r}")
    return tuple(convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))


def _enum(tp: type[enum.Enum], value: Any, path: str) -> enum.Enum:
    try:
        return tp(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in tp)
        raise ConfigError(f"{path}: must be one of {allowed}, got {value!r}") from None


def _float(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{path}: expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise ConfigError(f"{path}: number out of range") from None
    if not math.isfinite(number):  # TOML allows nan and inf; no setting means them
        raise ConfigError(f"{path}: must be a finite number, got {value!r}")
    return number


def _scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is int and isinstance(value, bool):
        raise ConfigError(f"{path}: expected an integer, got {value!r}")
    if tp in (int, str, bool):
        if not isinstance(value, tp):
            raise ConfigError(f"{path}: expected {tp.__name__}, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported setting type {tp!r}")


def build(cls: type[T], table: dict[str, Any], path: str = "") -> T:
    """Fill dataclass `cls` from `table`; raises one ConfigError listing every problem."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    problems = [f"{_name(path, k)}: unknown key" for k in sorted(set(table) - set(fields))]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in table:
            try:
                values[name] = convert(hints[name], table[name], _name(path, name))
            except ConfigError as exc:
                problems += exc.problems
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            problems.append(f"{_name(path, name)}: required key missing")
    if problems:
        raise ConfigError("; ".join(problems), problems)
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:  # a dataclass's own __post_init__ checks
        message = str(exc)
        # Most checks already name their key ("lights.short_beep_s: ..."): no second prefix.
        named = path and message.startswith((f"{path}.", f"{path}:"))
        raise ConfigError(message if named else f"{path or 'config'}: {message}") from None


def to_table(obj: Any) -> Any:
    """The inverse, for printing the effective configuration."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: to_table(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if getattr(obj, f.name) is not None
        }
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple):
        return [to_table(v) for v in obj]
    return obj
