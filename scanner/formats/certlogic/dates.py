"""CertLogic date-times: the allowed ISO 8601 subset, millisecond precision, JS Date offsets."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"(Z|([+-])(\d{1,2}):?(\d{2})?)?$"
)
UNITS = ("year", "month", "day", "hour")


class DateError(ValueError):
    """A string is not a date or date-time in CertLogic's allowed formats."""


def _build(
    year: int,
    month: int,
    day: int,
    time: tuple[int, int, int, int] = (0, 0, 0, 0),
    tz: timezone = UTC,
) -> datetime:
    hour, minute, second, micro = time
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise DateError(str(exc)) from None


def date_of_birth(text: str) -> datetime:
    """`dccDateOfBirth`: the last instant consistent with a possibly partial date."""
    m = _DATE.match(text)
    if m is None:
        raise DateError("not a YYYY, YYYY-MM or YYYY-MM-DD date")
    year = int(m[1])
    if m[2] is None:
        return _build(year, 12, 31)
    month = int(m[2])
    if m[3] is None:
        if not 1 <= month <= 12:
            raise DateError("month out of range")
        return _build(year, month, calendar.monthrange(year, month)[1])
    return _build(year, month, int(m[3]))


def parse(text: str) -> datetime:
    """A date or date-time string as an aware UTC datetime, truncated to milliseconds."""
    if _DATE.match(text):
        return date_of_birth(text)
    m = _DATE_TIME.match(text)
    if m is None:
        raise DateError("not an allowed date or date-time format")
    micro = int((m[7] or ".0")[1:4].ljust(3, "0")) * 1000  # digits past the 3rd are dropped
    tz = UTC
    if m[8] and m[8] != "Z":
        sign = -1 if m[9] == "-" else 1
        minutes = int(m[10]) * 60 + int(m[11] or "0")
        try:
            tz = timezone(sign * timedelta(minutes=minutes))
        except ValueError as exc:
            raise DateError(str(exc)) from None
    time = (int(m[4]), int(m[5]), int(m[6]), micro)
    return _build(int(m[1]), int(m[2]), int(m[3]), time, tz)


def plus(when: datetime, amount: int, unit: str) -> datetime:
    """Offset like JS `setUTC<unit>(getUTC<unit>() + amount)`: overflowing days roll over."""
    try:
        if unit == "day":
            return when + timedelta(days=amount)
        if unit == "hour":
            return when + timedelta(hours=amount)
        if unit == "month":
            months = when.year * 12 + (when.month - 1) + amount
            year, month = divmod(months, 12)
            return _rolled(when, year, month + 1)
        if unit == "year":
            return _rolled(when, when.year + amount, when.month)
    except OverflowError as exc:
        raise DateError(str(exc)) from None
    raise DateError(f"unknown time unit {unit!r}")


def _rolled(when: datetime, year: int, month: int) -> datetime:
    # JS keeps the day of month and lets it overflow into the next month (2020-02-29 plus
    # one year is 2021-03-01): the first of the month plus (day - 1) days does the same.
    first = _build(year, month, 1, (when.hour, when.minute, when.second, when.microsecond))
    return first + timedelta(days=when.day - 1)
