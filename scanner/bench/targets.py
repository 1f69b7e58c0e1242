"""What each benchmark is held to: every bench prints its targets and whether it met them."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Target:
    """`figure op limit`, e.g. `ratio <= 2.5`; `figure` is a dotted path into the report."""

    figure: str
    op: str
    limit: float

    def judge(self, report: Mapping[str, object]) -> dict[str, object]:
        """This target's figure in `report`, the target and whether it was met."""
        value: object = report
        for part in self.figure.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        met = isinstance(value, int | float) and _OPS[self.op](float(value), self.limit)
        return {"figure": self.figure, "target": f"{self.op} {self.limit:g}", "value": value,
                "met": met}  # fmt: skip


def judged(report: Mapping[str, object], targets: list[Target]) -> dict[str, object]:
    """`report` with `targets` (each judged) and `targets_met` added."""
    results = [t.judge(report) for t in targets]
    return {**report, "targets": results, "targets_met": all(r["met"] for r in results)}


def lines(report: Mapping[str, object]) -> list[str]:
    """The targets as text lines for the human-readable output."""
    out = []
    for result in report.get("targets", []):  # type: ignore[attr-defined]
        verdict = "met" if result["met"] else "NOT met"
        out.append(f"target {result['figure']} {result['target']}: {result['value']} ({verdict})")
    return out
