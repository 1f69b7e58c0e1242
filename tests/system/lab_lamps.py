"""The lamps as the host sees them: guest/lines.py's stream of GPIO line values, read back."""

from __future__ import annotations

import json
from collections.abc import Iterator

from lab_guest import Stream


def lamp_edges(stream: Stream, lamp: str) -> Iterator[float]:
    """Host arrival times at which `lamp` went from off to on, from guest/lines.py's stream."""
    last = 0
    for at, line in stream.lines:
        values = json.loads(line).get("values")
        if values is None:
            continue
        if values[lamp] and not last:
            yield at
        last = values[lamp]


def lamp_shows(stream: Stream, lamp: str, quiet_s: float = 1.0) -> int:
    """How many times `lamp` began showing a verdict: an on-edge after `quiet_s` of dark.

    A lamp already lit when the watch began is not counted: its decision came earlier.
    A reject flashes red (0.2 s on, 0.2 s off for 3 s), so its edges are one
    decision; the lab's scene leaves at least 3 s of dark between two of the
    same colour. Timed by the guest's clock (the "t" of guest/lines.py).
    """
    shows, lit, dark_since = 0, True, float("-inf")  # lit before the first line: not ours
    for _, line in stream.lines:
        message = json.loads(line)
        if "values" not in message:
            continue
        on, at = bool(message["values"][lamp]), float(message["t"])
        if dark_since == float("-inf") and not on:
            dark_since = at - quiet_s  # dark when watching began
        if on and not lit and at - dark_since >= quiet_s:
            shows += 1
        if lit and not on:
            dark_since = at
        lit = on
    return shows


def watch_began(stream: Stream) -> float:
    """The guest's wall-clock time of guest/lines.py's first reading."""
    return float(json.loads(stream.lines[0][1])["wall"])
