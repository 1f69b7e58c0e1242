"""Times and durations as contact tracers write them: ISO 8601 in a configured zone, ``15m``."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The country this project serves (issue 11); `--zone` or the dashboard's setting overrides it.
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
_DURATION = re.compile(r"^(?:(\d{1,5})d)?(?:(\d{1,6})h)?(?:(\d{1,7})m)?(?:(\d{1,9})s?)?$")
LATEST = 4_102_444_800  # 2100-01-01: later (or before 1970) is a typing error, not a case
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class TimeFormatError(ValueError):
    """A time, duration or zone the tracer typed cannot be read."""


def zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (e.g. Asia/Ho_Chi_Minh or UTC)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeFormatError(
            f"unknown time zone {name!r} (an IANA name, e.g. {DEFAULT_ZONE})"
        ) from None


def parse_time(text: str, tz: tzinfo) -> int:
    """ISO 8601 as Unix seconds; a time without an offset is a wall-clock time in ``tz``."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimeFormatError(f"not an ISO 8601 time: {text[:60]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        seconds = int(parsed.timestamp())
    except (OverflowError, OSError, ValueError):
        seconds = -1
    if not 0 <= seconds <= LATEST:
        raise TimeFormatError(f"time out of range (1970 to 2100): {text[:60]!r}")
    return seconds


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``2h``, ``1h30m`` (a bare number is seconds) as seconds."""
    found = _DURATION.match(text.strip())
    if not text.strip() or not found:
        raise TimeFormatError(f"not a duration: {text[:30]!r} (write e.g. 90s, 15m or 2h)")
    days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def format_time(seconds: float | None, tz: tzinfo) -> str | None:
    """ISO 8601 with the zone's offset, to the second, e.g. 2026-11-26T17:05:09+07:00."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(int(seconds), tz).isoformat()


def format_duration(seconds: float) -> str:
    """What `parse_duration` reads back: 900 -> 15m, 95 -> 1m35s, 0 -> 0s."""
    left = abs(int(seconds))
    parts = []
    for unit in ("d", "h", "m", "s"):
        amount, left = divmod(left, _UNIT_S[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"
