"""Per-case results and totals of the three runners, and the list of known upstream defects."""

from __future__ import annotations

import argparse
import enum
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from scanner.cli.kit import echo
from scanner.cli.kit import parser as kit_parser


class Result(enum.StrEnum):
    """How the project's answer compares with the suite's expectation."""

    AGREE = "agree"
    DISAGREE = "disagree"
    NOT_APPLICABLE = "not_applicable"
    KNOWN_DEFECT = "known_defect"  # disagrees, on a case listed as an upstream data defect


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation of one case."""

    case: str  # the case's path relative to the suite directory (plus an index when needed)
    check: str  # the expectation checked: an EXPECTED* field, an assertion, a test name
    expected: Any
    actual: Any
    result: Result
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        """This check as a JSON object for `--json`."""
        out = {
            "case": self.case,
            "check": self.check,
            "expected": self.expected,
            "actual": self.actual,
            "result": self.result.value,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True, slots=True)
class Defect:
    """An upstream case whose data is known to be wrong, with why and where it is reported."""

    suite: str
    case: str
    check: str
    reason: str
    upstream: str


def known_defects(suite: str) -> dict[tuple[str, str], Defect]:
    """The listed defects of one suite, keyed by (case, check)."""
    text = resources.files("scanner.conformance").joinpath("known_defects.json").read_text()
    out: dict[tuple[str, str], Defect] = {}
    for entry in json.loads(text)["defects"]:
        defect = Defect(**entry)
        if defect.suite == suite:
            out[(defect.case, defect.check)] = defect
    return out


def judge(
    case: str,
    check: str,
    expected: Any,
    actual: Any,
    defects: dict[tuple[str, str], Defect],
    *,
    detail: str = "",
) -> Check:
    """Agree when the answers are equal; a disagreement on a listed defect is marked as such."""
    return _judge(case, check, expected, actual, defects, detail)


def _judge(  # noqa: PLR0917 - the one call site above spells the fields out
    case: str,
    check: str,
    expected: Any,
    actual: Any,
    defects: dict[tuple[str, str], Defect],
    detail: str = "",
) -> Check:
    """Agree when the answers are equal; a disagreement on a listed defect is marked as such."""
    if _same(expected, actual):
        return Check(case, check, expected, actual, Result.AGREE, detail)
    defect = defects.get((case, check))
    if defect is not None:
        note = f"{defect.reason} ({defect.upstream})"
        return Check(case, check, expected, actual, Result.KNOWN_DEFECT, note)
    return Check(case, check, expected, actual, Result.DISAGREE, detail)


def _same(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, and 1 equals 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return (type(a) is type(b) and a == b) or _numbers(a, b)


def _numbers(a: Any, b: Any) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float) and a == b


def totals(checks: Iterable[Check]) -> dict[str, int]:
    """Counts of each result, every key present."""
    counted = Counter(c.result for c in checks)
    return {r.value: counted.get(r, 0) for r in Result}


def parser(suite: str, what: str) -> argparse.ArgumentParser:
    """The argument parser every runner shares: DIR and `--json`."""
    p = kit_parser(
        f"checkpoint-scanner conformance {suite}",
        f"Run {what} through the project's code and compare with the expected results.",
    )
    p.add_argument("dir", type=Path, help="the suite's directory (an upstream copy or a subset)")
    p.add_argument("--json", action="store_true", help="print every result and the totals as JSON")
    return p


def emit(suite: str, checks: list[Check], as_json: bool, cases: int) -> int:
    """Print the report; exit status 0 only when nothing disagrees."""
    counts = totals(checks)
    if as_json:
        doc = {
            "suite": suite,
            "cases": cases,
            "totals": counts,
            "checks": [c.as_json() for c in checks],
        }
        json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for c in checks:
            if c.result is not Result.AGREE:
                echo(
                    f"{c.result.value:15} {c.case} {c.check}: expected {c.expected!r}, "
                    f"got {c.actual!r} {c.detail}"
                )
        summary = ", ".join(f"{k} {v}" for k, v in counts.items())
        echo(f"{suite}: {cases} cases, {len(checks)} checks: {summary}")
    return 1 if counts[Result.DISAGREE.value] else 0
