"""`bench revocations`: revocation-set memory, lookup, load and delta costs beside references."""

from __future__ import annotations

import bisect
import gc
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from scanner.bench.targets import Target, judged, lines
from scanner.cli.kit import command, echo
from scanner.cli.kit import parser as kit_parser
from scanner.cli.progress import Progress
from scanner.trust.revocation_set import RevocationSet, pass_id_key

_REPEATS = 7


def _ids(prefix: str, start: int, stop: int) -> Iterator[str]:
    return (f"{prefix}-{i:09d}" for i in range(start, stop))


def _median_s(fn: Callable[[], object], repeats: int = _REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _lookup_us(contains: Callable[[str], bool], probes: list[str]) -> float:
    def run() -> None:
        for pass_id in probes:
            contains(pass_id)

    return _median_s(run) / len(probes) * 1e6


def _probes(entries: int, count: int, rng: random.Random) -> list[str]:
    # Half revoked, half not: a gate mostly sees unrevoked passes, but a hit walks
    # the same path plus one comparison, so an even mix is representative.
    hits = [f"P-{rng.randrange(entries):09d}" for _ in range(count // 2)]
    misses = [f"Q-{rng.randrange(10**9):09d}" for _ in range(count - count // 2)]
    probes = hits + misses
    rng.shuffle(probes)
    return probes


def _lookups(revset: RevocationSet, probes: list[str]) -> dict[str, object]:
    out: dict[str, object] = {"lookup_us": round(_lookup_us(revset.__contains__, probes), 3)}
    # Reference: the suggested plain bisect over the whole array, no bucket table.
    view = revset.keys().data.cast("B").cast("Q")

    def plain_bisect(pass_id: str) -> bool:
        key = pass_id_key(pass_id)
        i = bisect.bisect_left(view, key)
        return i < len(view) and view[i] == key

    out["ref_plain_bisect_lookup_us"] = round(_lookup_us(plain_bisect, probes), 3)
    return out


def _file(revset: RevocationSet) -> dict[str, object]:
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="revbench-") as tmp:
        path = Path(tmp) / "revoked.bin"
        out["save_s"] = round(_median_s(lambda: revset.save(path, serial=1), 3), 3)
        out["file_bytes"] = path.stat().st_size
        # Warm page cache: this measures parse + checksum + index, not the SD card.
        out["load_s"] = round(_median_s(lambda: RevocationSet.load(path), 5), 3)
        out["load_note"] = "warm page cache; add file_bytes / SD read speed for a cold boot"
        body = path.read_bytes()
    for name in ("blake2b", "sha256"):

        def digest(name: str = name) -> bytes:
            return hashlib.new(name, body).digest()

        out[f"ref_{name}_mb_s"] = round(len(body) / _median_s(digest, 3) / 1e6)
    return out


def _deltas(revset: RevocationSet, entries: int, rng: random.Random) -> dict[str, object]:
    counter = iter(range(10**9))

    def delta_on(base: RevocationSet) -> Callable[[], RevocationSet]:
        # IDs are made before the clock starts: apply is timed, not string formatting.
        n = next(counter)
        added = list(_ids("A", n * 10_000, (n + 1) * 10_000))
        removed = [f"P-{rng.randrange(entries):09d}" for _ in range(10_000)]
        return lambda: base.apply(added, removed)

    out: dict[str, object] = {
        "delta": "10000 added + 10000 removed IDs",
        "delta_10k_ms": round(_median_s(delta_on(revset)) * 1e3, 2),
    }
    # Worst case short of folding: earlier deltas (~20k keys each) have filled the
    # overlay to just below the set's fold threshold, max(65536, entries / 64).
    full = revset
    earlier = max(1 << 16, entries // 64) // 20_000 - 1
    for _ in range(earlier):
        full = delta_on(full)()
    out["earlier_deltas_in_overlay"] = earlier
    out["delta_10k_ms_full_overlay"] = round(_median_s(delta_on(full)) * 1e3, 2)
    out["bytes_per_entry_full_overlay"] = round(full.nbytes / max(1, len(full)), 3)
    # Folding one delta into the array is what `apply` would cost without the overlay.
    one_delta = delta_on(revset)()
    out["ref_merge_delta_10k_ms"] = round(_median_s(one_delta.compacted, 5) * 1e3, 2)
    return out


def _python_set(entries: int, lookups: int, rng: random.Random) -> dict[str, object]:
    ids = list(_ids("P", 0, entries))
    start = time.perf_counter()
    pyset = set(ids)
    out: dict[str, object] = {
        "ref_pyset_entries": entries,
        "ref_pyset_build_s": round(time.perf_counter() - start, 3),
    }
    size = sys.getsizeof(pyset) + sum(sys.getsizeof(s) for s in ids)
    out["ref_pyset_bytes_per_entry"] = round(size / entries, 1)
    probes = _probes(entries, lookups, rng)
    out["ref_pyset_lookup_us"] = round(_lookup_us(pyset.__contains__, probes), 3)
    revset = RevocationSet.from_ids(ids)
    out["lookup_us_at_ref_entries"] = round(_lookup_us(revset.__contains__, probes), 3)
    return out


# README: <= 16 B an entry, < 10 us a lookup, < 2 s to load, < 100 ms a 10k delta.
TARGETS = [
    Target("bytes_per_entry", "<=", 16),
    Target("lookup_us", "<", 10),
    Target("load_s", "<", 2),
    Target("delta_10k_ms", "<", 100),
]


def _counted(ids: Iterator[str], progress: Progress, every: int = 100_000) -> Iterator[str]:
    for i, pass_id in enumerate(ids):
        if i % every == 0:
            progress.advance(i)
        yield pass_id


def _measure(
    entries: int, reference_entries: int, lookups: int, progress: Progress
) -> dict[str, object]:
    rng = random.Random(1)  # noqa: S311 - reproducible probes, not secrets
    out: dict[str, object] = {"entries": entries}
    progress.step("building the set", entries)
    start = time.perf_counter()
    revset = RevocationSet.from_ids(_counted(_ids("P", 0, entries), progress))
    out["from_ids_s"] = round(time.perf_counter() - start, 3)
    out["bytes_per_entry"] = round(revset.nbytes / max(1, len(revset)), 3)
    progress.step("timing lookups")
    out.update(_lookups(revset, _probes(entries, lookups, rng)))
    progress.step("saving and loading the file")
    out.update(_file(revset))
    progress.step("applying deltas")
    out.update(_deltas(revset, entries, rng))
    del revset
    gc.collect()
    progress.step("the Python set reference")
    out.update(_python_set(reference_entries, lookups, rng))
    progress.finish()
    out["numpy"] = np.__version__
    return out


def _table(figures: dict[str, object]) -> str:
    width = max(len(k) for k in figures)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in figures.items())


@command
def main(argv: list[str]) -> int:
    """Run the benchmark; print a table, or one JSON object with --json."""
    parser = kit_parser("checkpoint-scanner bench revocations", (__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--entries", type=int, default=10_000_000, help="revoked pass IDs in the measured set"
    )
    parser.add_argument(
        "--reference-entries",
        type=int,
        default=1_000_000,
        help="size of the Python-set reference (10M strings would need ~1 GB)",
    )
    parser.add_argument("--lookups", type=int, default=100_000, help="lookups to time")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    if args.entries < 1 or args.reference_entries < 1 or args.lookups < 2:
        echo("error: --entries, --reference-entries and --lookups must be positive", err=True)
        return 2
    progress = Progress("bench revocations", stages=5)
    measured = _measure(args.entries, args.reference_entries, args.lookups, progress)
    figures = judged(measured, TARGETS)
    if args.json:
        echo(json.dumps(figures))
    else:
        shown = {k: v for k, v in figures.items() if k not in ("targets", "targets_met")}
        echo(_table(shown) + "\n" + "\n".join(lines(figures)))
    return 0
