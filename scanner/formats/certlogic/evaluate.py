"""The CertLogic evaluator: expression + data context -> value, or CertLogicError.

Owned rather than taken from PyPI: the one Python implementation there (panzi-json-logic)
was last released in 2021, before CertLogic 1.3, and the language is a page of rules
(specification 1.3.3, checked by `checkpoint-scanner conformance certlogic`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scanner.formats.certlogic import dates

# Rules come from a signed rule set, but depth still bounds recursion on any input.
MAX_DEPTH = 64
_UVCI_PREFIX = "URN:UVCI:"
_UVCI_SPLIT = re.compile(r"[/#:]")
_INFIX = frozenset(
    ("===", "and", ">", "<", ">=", "<=", "in", "+", "after", "before", "not-after", "not-before")
)
_DATE_OPS = {"after": ">", "before": "<", "not-after": "<=", "not-before": ">="}


class CertLogicError(ValueError):
    """The expression is not valid CertLogic, or its operands have the wrong types."""


def is_int(value: Any) -> bool:
    """An integer in the JSON sense: bools are not numbers, 2.0 is an integer."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def boolsiness(value: Any) -> bool | None:
    """True for truthy, False for falsy, None for values that are neither (dates, floats...)."""
    if value is True or value is False:
        return value
    if value is None:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    if isinstance(value, int | float):
        return value != 0
    return None


def _strict_equal(a: Any, b: Any) -> bool:
    # JavaScript's ===: primitives by type and value, objects (arrays, dates) by identity.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    return a is b


def access(data: Any, path: str) -> Any:
    """`var`: drill down by dot-separated fragments; anything missing is null."""
    if path == "":
        return data
    value = data
    for fragment in path.split("."):
        if value is None:
            return None
        if isinstance(value, list):
            try:
                index = int(fragment)
            except ValueError:
                return None
            value = value[index] if 0 <= index < len(value) else None
        elif isinstance(value, dict):
            value = value.get(fragment)
        else:
            return None
    return value


def evaluate(expr: Any, data: Any) -> Any:
    """Evaluate a CertLogic expression against a data context; raises CertLogicError."""
    try:
        return _eval(expr, data, 0)
    except RecursionError:
        raise CertLogicError("expression nested too deeply") from None


def _eval(expr: Any, data: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CertLogicError("expression nested too deeply")
    if isinstance(expr, str | bool) or is_int(expr):
        return expr
    if isinstance(expr, list):
        return [_eval(item, data, depth + 1) for item in expr]
    if not isinstance(expr, dict):
        raise CertLogicError(f"invalid CertLogic expression: {type(expr).__name__}")
    if len(expr) != 1:
        raise CertLogicError("an expression object has exactly one operator")
    ((op, args),) = expr.items()
    if op == "var":
        if not isinstance(args, str):
            if is_int(args):
                return access(data, str(int(args)))
            raise CertLogicError('not of the form { "var": "<path>" }')
        return access(data, args)
    if not isinstance(args, list) or not args:
        raise CertLogicError(f'operation not of the form {{ "{op}": [ <values...> ] }}')
    handler = _OPERATIONS.get(op)
    if handler is not None:
        return handler(args, data, depth + 1)
    if op in _INFIX:
        return _infix(op, args, data, depth + 1)
    raise CertLogicError(f"unrecognised operator: {op!r}")


def _if(args: list[Any], data: Any, depth: int) -> Any:
    if len(args) != 3:
        raise CertLogicError("an if-operation has a guard, a then and an else")
    guard = _eval(args[0], data, depth)
    truth = boolsiness(guard)
    if truth is None:
        raise CertLogicError("if-guard is neither truthy nor falsy")
    return _eval(args[1] if truth else args[2], data, depth)


def _not(args: list[Any], data: Any, depth: int) -> bool:
    truth = boolsiness(_eval(args[0], data, depth))
    if truth is None:
        raise CertLogicError("operand of ! is neither truthy nor falsy")
    return not truth


def _and(args: list[Any], data: Any, depth: int) -> Any:
    if len(args) < 2:
        raise CertLogicError('an "and" operation has at least 2 operands')
    value: Any = True
    for arg in args:
        truth = boolsiness(value)
        if truth is None:
            raise CertLogicError('operands of "and" must be truthy or falsy')
        if not truth:
            return value
        value = _eval(arg, data, depth)
    return value


def _compare(op: str, values: list[Any]) -> bool:
    def one(a: Any, b: Any) -> bool:
        if op == "<":
            return bool(a < b)
        if op == ">":
            return bool(a > b)
        if op == "<=":
            return bool(a <= b)
        return bool(a >= b)

    if len(values) == 2:
        return one(values[0], values[1])
    return one(values[0], values[1]) and one(values[1], values[2])


def _infix(op: str, args: list[Any], data: Any, depth: int) -> Any:
    if op == "and":
        return _and(args, data, depth)
    comparison = op in ("<", ">", "<=", ">=") or op in _DATE_OPS
    if comparison and not 2 <= len(args) <= 3:
        raise CertLogicError(f'"{op}" takes 2 or 3 operands')
    if not comparison and len(args) != 2:
        raise CertLogicError(f'"{op}" takes 2 operands')
    values = [_eval(arg, data, depth) for arg in args]
    if op == "===":
        return _strict_equal(values[0], values[1])
    if op == "in":
        if not isinstance(values[1], list):
            raise CertLogicError('right-hand side of "in" must be an array')
        return any(_strict_equal(values[0], item) for item in values[1])
    if op == "+":
        if not (is_int(values[0]) and is_int(values[1])):
            raise CertLogicError('operands of "+" must be integers')
        return int(values[0]) + int(values[1])
    if op in _DATE_OPS:
        if not all(isinstance(v, datetime) for v in values):
            raise CertLogicError(f'operands of "{op}" must be date-times')
        return _compare(_DATE_OPS[op], values)
    if not all(is_int(v) for v in values):
        raise CertLogicError(f'operands of "{op}" must be integers')
    return _compare(op, values)


def _plus_time(args: list[Any], data: Any, depth: int) -> datetime:
    if len(args) != 3:
        raise CertLogicError("plusTime takes a date-time, an amount and a unit")
    amount, unit = args[1], args[2]
    if not is_int(amount):
        raise CertLogicError('"amount" of plusTime must be an integer')
    if unit not in dates.UNITS:
        raise CertLogicError(f'"unit" of plusTime must be one of {", ".join(dates.UNITS)}')
    text = _eval(args[0], data, depth)
    if not isinstance(text, str):
        raise CertLogicError("date argument of plusTime must be a string")
    try:
        return dates.plus(dates.parse(text), int(amount), unit)
    except dates.DateError as exc:
        raise CertLogicError(f"plusTime: {exc}") from None


def _date_of_birth(args: list[Any], data: Any, depth: int) -> datetime:
    text = _eval(args[0], data, depth)
    if not isinstance(text, str):
        raise CertLogicError("dccDateOfBirth takes a string")
    try:
        return dates.date_of_birth(text)
    except dates.DateError as exc:
        raise CertLogicError(f"dccDateOfBirth: {exc}") from None


def _reduce(args: list[Any], data: Any, depth: int) -> Any:
    if len(args) != 3:
        raise CertLogicError("reduce takes an operand, a lambda and an initial value")
    operand = _eval(args[0], data, depth)
    accumulator = _eval(args[2], data, depth)
    if operand is None:
        return accumulator
    if not isinstance(operand, list):
        raise CertLogicError("operand of reduce is neither null nor an array")
    for current in operand:
        accumulator = _eval(args[1], {"accumulator": accumulator, "current": current}, depth)
    return accumulator


def _extract_from_uvci(args: list[Any], data: Any, depth: int) -> str | None:
    if len(args) != 2:
        raise CertLogicError("extractFromUVCI takes an operand and an index")
    uvci = _eval(args[0], data, depth)
    index = args[1]
    if uvci is not None and not isinstance(uvci, str):
        raise CertLogicError("UVCI argument of extractFromUVCI must be a string or null")
    if not is_int(index):
        raise CertLogicError("index argument of extractFromUVCI must be an integer")
    if uvci is None or index < 0:
        return None
    bare = uvci[len(_UVCI_PREFIX) :] if uvci.startswith(_UVCI_PREFIX) else uvci
    fragments = _UVCI_SPLIT.split(bare)
    return fragments[int(index)] if index < len(fragments) else None


_OPERATIONS: dict[str, Callable[[list[Any], Any, int], Any]] = {
    "if": _if,
    "!": _not,
    "plusTime": _plus_time,
    "dccDateOfBirth": _date_of_birth,
    "reduce": _reduce,
    "extractFromUVCI": _extract_from_uvci,
}
