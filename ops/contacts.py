"""Contact tracing F0 -> F1 -> F2 as a pure function over two index reads of the stored scans.

A co-presence is a pair (source scan, contact scan) at the same checkpoint whose
trusted times are at most W apart. F0 sources are the case passes' scans inside
[T1, T2]; a level-k pass is a source from its first contact up to T2 + W (the
same look-ahead the F0 window gets). A pass is reported once, at the lowest
level it reaches, and never as a contact of itself.

The reads are a `ScanReads` (SQL in `ops.scans`, a list in the tests), so the
same function can be checked against a brute-force nested loop.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# The scanner's clock states whose trusted time may be off (docs/pass-format.md, trusted
# time): "behind" used the persisted floor, "unsynced" had no sync evidence.
UNCERTAIN_CLOCKS = frozenset({"behind", "unsynced"})
MAX_DEPTH = 3
DEFAULT_WINDOW_S = 15 * 60
DEFAULT_DEPTH = 2
DEFAULT_MAX_CONTACTS = 10_000
DEFAULT_READ_LIMIT = 200_000  # scans one read may return before the answer says it was cut


@dataclass(frozen=True, slots=True)
class Scan:
    """One stored scan as tracing reads it: pass, place, device and trusted time."""

    pass_id: str
    checkpoint_id: str
    device_id: str
    time: int  # trusted_time, Unix seconds
    clock: str | None = "synced"

    @property
    def uncertain(self) -> bool:
        """Whether the scan's time came from an untrusted clock."""
        return self.clock in UNCERTAIN_CLOCKS


class ScanReads(Protocol):
    """The two index reads: (pass_id, trusted_time) and (checkpoint_id, trusted_time)."""

    def of_passes(self, pass_ids: Sequence[str], start: int, end: int, limit: int) -> list[Scan]:
        """Scans of these passes with start <= time <= end, at most ``limit``."""
        ...

    def at_checkpoints(self, windows: Sequence[tuple[str, int, int]], limit: int) -> list[Scan]:
        """Scans at each (checkpoint, start, end), bounds included; windows do not overlap."""
        ...


@dataclass(frozen=True, slots=True)
class Query:
    """A tracing question: the cases, the window [start, end] and the contact rules."""

    cases: tuple[str, ...]
    start: int  # T1
    end: int  # T2
    window_s: int = DEFAULT_WINDOW_S
    depth: int = DEFAULT_DEPTH

    def __post_init__(self) -> None:
        if not self.cases:
            raise ValueError("give at least one case (F0) pass ID")
        if not 1 <= self.depth <= MAX_DEPTH:
            raise ValueError(f"depth must be 1 to {MAX_DEPTH}")
        if self.window_s < 0:
            raise ValueError("the co-presence window cannot be negative")
        if self.end < self.start:
            raise ValueError("the infectious window ends before it starts")


@dataclass(frozen=True, slots=True)
class Contact:
    """One contact at its lowest level, with the co-presence that links it (a certain one first)."""

    pass_id: str
    level: int
    via: str  # the pass one level up it was found through
    checkpoint_id: str
    via_time: int
    contact_time: int
    gap_s: int
    same_unit: bool
    copresences: int  # every co-presence with a pass of the level above
    uncertain: bool  # every one of them involves a clock that was behind or unsynced
    first_contact: int  # the earliest of its co-presence times: it is a source from here


@dataclass(slots=True)
class Answer:
    """The contacts found, each case's scans in the window, and why it may be cut short."""

    contacts: list[Contact] = field(default_factory=list)
    case_scans: dict[str, int] = field(default_factory=dict)  # F0 scans inside [T1, T2]
    cut: str | None = None  # why the answer may be missing contacts, if it may
    reads: int = 0


def trace_contacts(
    reads: ScanReads,
    query: Query,
    *,
    max_contacts: int = DEFAULT_MAX_CONTACTS,
    read_limit: int = DEFAULT_READ_LIMIT,
) -> Answer:
    """The F1 and F2 contacts of `query`'s cases, read through `reads`."""
    answer = Answer()
    w = query.window_s
    horizon = query.end + w
    known: set[str] = set(query.cases)  # every pass already placed, F0 included
    uncertain_pass: dict[str, bool] = dict.fromkeys(query.cases, False)
    cases = reads.of_passes(sorted(known), query.start, query.end, read_limit)
    sources = _read(answer, cases, read_limit)
    answer.case_scans = dict.fromkeys(query.cases, 0)
    for scan in sources:
        answer.case_scans[scan.pass_id] += 1
    for level in range(1, query.depth + 1):
        found = _next_level(
            answer,
            reads,
            sources,
            known=known,
            uncertain_pass=uncertain_pass,
            level=level,
            w=w,
            read_limit=read_limit,
        )
        room = max_contacts - len(answer.contacts)
        if len(found) > room:
            answer.contacts.extend(found[:room])
            answer.cut = f"more than {max_contacts} contacts: the first {max_contacts} are shown"
            break
        answer.contacts.extend(found)
        if not found or level == query.depth:
            break
        first = {c.pass_id: c.first_contact for c in found}
        for contact in found:
            known.add(contact.pass_id)
            uncertain_pass[contact.pass_id] = contact.uncertain
        raw = _read(
            answer,
            reads.of_passes(sorted(first), min(first.values()), horizon, read_limit),
            read_limit,
        )
        sources = [s for s in raw if first[s.pass_id] <= s.time <= horizon]
    return answer


def _next_level(
    answer: Answer,
    reads: ScanReads,
    sources: list[Scan],
    *,
    known: set[str],
    uncertain_pass: dict[str, bool],
    level: int,
    w: int,
    read_limit: int,
) -> list[Contact]:
    """Every pass not yet placed that was within ±w of one of ``sources``, with its best link."""
    windows = merge_windows((s.checkpoint_id, s.time - w, s.time + w) for s in sources)
    if not windows:
        return []
    nearby: dict[str, list[Scan]] = defaultdict(list)
    for scan in _read(answer, reads.at_checkpoints(windows, read_limit), read_limit):
        if scan.pass_id not in known:
            nearby[scan.checkpoint_id].append(scan)
    times: dict[str, list[int]] = {}
    for checkpoint, scans in nearby.items():
        scans.sort(key=lambda s: s.time)
        times[checkpoint] = [s.time for s in scans]
    links: dict[str, list[tuple[Scan, Scan]]] = defaultdict(list)
    for source in sources:
        row = nearby.get(source.checkpoint_id, [])
        at = times.get(source.checkpoint_id, [])
        lo = bisect.bisect_left(at, source.time - w)
        hi = bisect.bisect_right(at, source.time + w)
        for contact in row[lo:hi]:
            links[contact.pass_id].append((source, contact))
    found = [_contact(p, level, pairs, uncertain_pass) for p, pairs in links.items()]
    found.sort(key=lambda c: (c.first_contact, c.pass_id))
    return found


def _contact(
    pass_id: str, level: int, pairs: list[tuple[Scan, Scan]], uncertain_pass: dict[str, bool]
) -> Contact:
    # One pass over the pairs (this runs for every contact): the best link ranks certain
    # first, then earliest, then closest, then by name so the answer is deterministic.
    best: tuple[bool, int, int, str, str, str, str] | None = None
    link = pairs[0]
    certain = False
    first = pairs[0][1].time
    for pair in pairs:
        source, contact = pair
        doubtful = source.uncertain or contact.uncertain or uncertain_pass[source.pass_id]
        certain = certain or not doubtful
        first = min(first, contact.time)
        rank = (
            doubtful,
            contact.time,
            abs(contact.time - source.time),
            source.pass_id,
            contact.checkpoint_id,
            source.device_id,
            contact.device_id,
        )
        if best is None or rank < best:
            best, link = rank, pair
    source, contact = link
    return Contact(
        pass_id=pass_id,
        level=level,
        via=source.pass_id,
        checkpoint_id=contact.checkpoint_id,
        via_time=source.time,
        contact_time=contact.time,
        gap_s=abs(contact.time - source.time),
        same_unit=source.device_id == contact.device_id,
        copresences=len(pairs),
        uncertain=not certain,
        first_contact=first,
    )


def merge_windows(windows: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Overlapping windows at one checkpoint joined, so each stored scan is read once."""
    merged: list[tuple[str, int, int]] = []
    for checkpoint, start, end in sorted(windows):
        if merged and merged[-1][0] == checkpoint and start <= merged[-1][2]:
            merged[-1] = (checkpoint, merged[-1][1], max(merged[-1][2], end))
        else:
            merged.append((checkpoint, start, end))
    return merged


def _read(answer: Answer, scans: list[Scan], limit: int) -> list[Scan]:
    answer.reads += 1
    if len(scans) >= limit and answer.cut is None:
        answer.cut = f"a read reached its limit of {limit} scans: contacts may be missing"
    return scans
