"""The hand-built tracing scenario, an in-memory ScanReads and the brute-force reference."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from ops.contacts import Contact, Query, Scan
from ops.db import Database
from ops.schema import EVENT_COLUMNS

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def at(hhmmss: str) -> int:
    """A time on 26 November 2026 in Vietnam, as Unix seconds."""
    return int(datetime.fromisoformat(f"2026-11-26T{hhmmss}").replace(tzinfo=ZONE).timestamp())


# Checkpoints HN-01 (two lanes), ND-02 (lane 2's clock is behind: it stamps its
# floor, 10:05) and HP-03. The case P-CASE rides a bus with B1..B4 through HN-01
# and ND-02; then the bus splits up.
SCENARIO: list[Scan] = [
    Scan("P-CASE", "HP-03", "hp03-l1", at("06:00:00")),  # before T1: not a source
    Scan("P-BEFORE", "HP-03", "hp03-l1", at("06:05:00")),
    Scan("B1", "HP-03", "hp03-l1", at("07:45:00")),  # B1 before its first contact
    Scan("P-PRIOR", "HP-03", "hp03-l1", at("07:50:00")),
    Scan("B1", "HN-01", "hn01-l1", at("08:00:00")),
    Scan("P-CASE", "HN-01", "hn01-l1", at("08:00:30")),
    Scan("B2", "HN-01", "hn01-l1", at("08:01:00")),
    Scan("B3", "HN-01", "hn01-l2", at("08:02:00")),
    Scan("B4", "HN-01", "hn01-l2", at("08:04:00")),
    Scan("P-LATE", "HN-01", "hn01-l1", at("09:00:00")),  # the traveller an hour later
    Scan("P-CASE", "ND-02", "nd02-l1", at("10:00:00")),
    Scan("B1", "ND-02", "nd02-l1", at("10:00:20")),
    Scan("B2", "ND-02", "nd02-l1", at("10:00:40")),
    Scan("B3", "ND-02", "nd02-l1", at("10:01:00")),
    Scan("B4", "ND-02", "nd02-l1", at("10:01:20")),
    Scan("P-BEHIND", "ND-02", "nd02-l2", at("10:05:00"), "behind"),
    Scan("B2", "HP-03", "hp03-l1", at("14:00:00")),
    Scan("P-F2", "HP-03", "hp03-l2", at("14:10:00")),
    Scan("P-FAR", "HP-03", "hp03-l1", at("14:20:00")),  # 20 min after B2: F3 at most
    Scan("B3", "HP-03", "hp03-l1", at("18:10:00")),  # after T2, inside T2 + W
    Scan("P-AFTER", "HP-03", "hp03-l1", at("18:20:00")),
    Scan("B4", "HP-03", "hp03-l2", at("18:30:00")),  # after T2 + W: not a source
    Scan("P-TOOLATE", "HP-03", "hp03-l2", at("18:31:00")),
]
SCENARIO_QUERY = Query(cases=("P-CASE",), start=at("07:30:00"), end=at("18:00:00"))
SCENARIO_F1 = {"B1", "B2", "B3", "B4", "P-BEHIND"}
SCENARIO_F2 = {"P-F2", "P-AFTER"}
SCENARIO_UNCERTAIN = {"P-BEHIND"}


class MemoryReads:
    """`ScanReads` over a list, checking the function's promise that windows never overlap."""

    def __init__(self, scans: Sequence[Scan]) -> None:
        self.scans = list(scans)
        self.calls = 0

    def of_passes(self, pass_ids: Sequence[str], start: int, end: int, limit: int) -> list[Scan]:
        self.calls += 1
        wanted = set(pass_ids)
        found = [s for s in self.scans if s.pass_id in wanted and start <= s.time <= end]
        return found[:limit]

    def at_checkpoints(self, windows: Sequence[tuple[str, int, int]], limit: int) -> list[Scan]:
        self.calls += 1
        for (c1, _, e1), (c2, s2, _) in itertools.pairwise(windows):
            assert c1 != c2 or s2 > e1, "overlapping windows would read a scan twice"
        found = [
            s
            for c, a, b in windows
            for s in self.scans
            if s.checkpoint_id == c and a <= s.time <= b
        ]
        return found[:limit]


def brute_force(scans: Sequence[Scan], query: Query) -> list[Contact]:
    """The definition as a nested loop over every pair of scans, level by level."""
    w, horizon = query.window_s, query.end + query.window_s
    placed = set(query.cases)
    window = dict.fromkeys(query.cases, (query.start, query.end))
    doubt = dict.fromkeys(query.cases, False)
    result: list[Contact] = []
    for level in range(1, query.depth + 1):
        pairs: dict[str, list[tuple[Scan, Scan]]] = defaultdict(list)
        for s in scans:
            if s.pass_id in window and window[s.pass_id][0] <= s.time <= window[s.pass_id][1]:
                for c in scans:
                    if (
                        c.checkpoint_id == s.checkpoint_id
                        and abs(c.time - s.time) <= w
                        and c.pass_id not in placed
                    ):
                        pairs[c.pass_id].append((s, c))
        level_contacts = []
        above = dict(doubt)

        def unsure(pair: tuple[Scan, Scan], above: dict[str, bool] = above) -> bool:
            return pair[0].uncertain or pair[1].uncertain or above[pair[0].pass_id]

        for pass_id, found in pairs.items():
            s, c = min(
                found,
                key=lambda p: (
                    unsure(p),
                    p[1].time,
                    abs(p[1].time - p[0].time),
                    p[0].pass_id,
                    p[1].checkpoint_id,
                    p[0].device_id,
                    p[1].device_id,
                ),
            )
            level_contacts.append(
                Contact(
                    pass_id=pass_id,
                    level=level,
                    via=s.pass_id,
                    checkpoint_id=c.checkpoint_id,
                    via_time=s.time,
                    contact_time=c.time,
                    gap_s=abs(c.time - s.time),
                    same_unit=s.device_id == c.device_id,
                    copresences=len(found),
                    uncertain=all(unsure(p) for p in found),
                    first_contact=min(p[1].time for p in found),
                )
            )
        level_contacts.sort(key=lambda x: (x.first_contact, x.pass_id))
        result.extend(level_contacts)
        window = {x.pass_id: (x.first_contact, horizon) for x in level_contacts}
        placed |= set(window)
        doubt |= {x.pass_id: x.uncertain for x in level_contacts}
    return result


def insert_scans(db: Database, scans: Sequence[Scan], *, store: str = "s1") -> None:
    """The scans as stored events (one stream per device), as the collector would leave them."""
    seqs: dict[str, int] = defaultdict(int)
    rows = []
    for scan in sorted(scans, key=lambda s: s.time):
        seqs[scan.device_id] += 1
        values = {
            "device_id": scan.device_id,
            "store": store,
            "seq": seqs[scan.device_id],
            "kind": "scan",
            "checkpoint_id": scan.checkpoint_id,
            # The unit's own clock: wrong by hours on the behind unit, as on a Pi without RTC.
            "wall_time": float(scan.time - (7200 if scan.clock == "behind" else 0)),
            "trusted_time": scan.time,
            "clock": scan.clock,
            "outcome": "accept",
            "trust": "fresh",
            "pass_id": scan.pass_id,
            "stored_at": float(scan.time + 5),
        }
        rows.append(tuple(values.get(column) for column in EVENT_COLUMNS))
    marks = ", ".join("?" * len(EVENT_COLUMNS))
    with db.transaction():
        db.executemany(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})", rows)
