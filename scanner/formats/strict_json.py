r"""Strict JSON for documents that are signed or ingested: one text, one meaning.

Python's `json` takes the last copy of a duplicate key, accepts `NaN` and
`Infinity` (not JSON, RFC 8259 section 6) and decodes `"\ud800"` to a lone
surrogate that no UTF-8 text can hold. Each would let one signed or stored
document say two things: a batch with two `pass_id` keys shows one pass to a
reader that takes the first and another to ours. RFC 8259 section 4 leaves
duplicate names' meaning open and I-JSON (RFC 7493 section 2.3) forbids them,
so they are refused here, as are the other two.

The standard library parser stays (it is C, and well kept); the strictness
is its own hooks: `object_pairs_hook` for duplicates, `parse_constant` for the
non-numbers, and a walk for surrogates done only when the text holds a
`\uD...` escape, the one way JSON can spell one (strict UTF-8 refuses them
as bytes).
"""

from __future__ import annotations

import json
import re
from typing import Any

from scanner.errors import StrictJsonError

__all__ = ["StrictJsonError", "loads"]

# \uD800-\uDFFF spelled as an escape, in either case; a pair also matches and
# is then checked by the walk, which finds it whole (json joins a valid pair).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise StrictJsonError(f"duplicate key {_shown(key)}")
            seen.add(key)
    return document


def _constant(name: str) -> float:
    raise StrictJsonError(f"{name} is not a JSON number")


def _shown(key: str) -> str:
    # The key goes into an error and maybe a log: short, printable, never a value.
    text = key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return repr(text[:40])


def _no_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings = [item]
        elif isinstance(item, dict):
            strings = list(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for text in strings:
            if not text.isascii():
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise StrictJsonError("a string holds a lone surrogate") from None


def loads(data: bytes | bytearray | str, what: str = "document") -> Any:
    """Parse strict JSON; StrictJsonError (a ValueError) names what is wrong with `what`."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StrictJsonError(f"{what}: not UTF-8") from None
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except StrictJsonError as exc:
        raise StrictJsonError(f"{what}: {exc}") from None
    except RecursionError:
        raise StrictJsonError(f"{what}: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
        raise StrictJsonError(f"{what}: not JSON ({exc})") from None
    # A one-byte search first: most documents hold no backslash at all, and the
    # regex costs about 0.5 us a KiB where this costs a hundredth of that.
    if b"\\" in raw and _SURROGATE_ESCAPE.search(raw) is not None:
        try:
            _no_surrogates(value)
        except StrictJsonError as exc:
            raise StrictJsonError(f"{what}: {exc}") from None
    return value
