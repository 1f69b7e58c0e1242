"""`conformance certlogic DIR`: the CertLogic test suite (files of cases with assertions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.cli.kit import command, echo
from scanner.conformance.report import Check, Defect, Result, emit, judge, known_defects, parser
from scanner.formats.certlogic import CertLogicError, evaluate

SUITE = "certlogic"
_NOT_SUITES = ("schema",)  # the suite's own JSON schema sits beside its case files


def run_file(path: Path, root: Path, defects: dict[tuple[str, str], Defect]) -> list[Check]:
    """Every assertion of one suite file; a `skip` directive is reported as not applicable."""
    name = path.relative_to(root).as_posix()
    try:
        suite: Any = json.loads(path.read_text(encoding="utf-8"))
        cases = suite["cases"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [Check(name, "file", "a suite", None, Result.NOT_APPLICABLE, str(exc))]
    checks = []
    for c_index, case in enumerate(cases):
        for a_index, assertion in enumerate(case.get("assertions", [])):
            label = f"{name}#{c_index + 1}.{a_index + 1}"
            title = f"{case.get('name', '')}: {assertion.get('message', '')}".strip(": ")
            expr = assertion.get("certLogicExpression", case.get("certLogicExpression"))
            skipped = "skip" in (assertion.get("directive"), case.get("directive"))
            if skipped or expr is None or "expected" not in assertion:
                why = "skip directive" if skipped else "no expression or expectation"
                checks.append(Check(label, title, None, None, Result.NOT_APPLICABLE, why))
                continue
            try:
                actual = evaluate(expr, assertion.get("data"))
            except CertLogicError as exc:
                actual = f"error: {exc}"
            checks.append(judge(label, title, assertion["expected"], _plain(actual), defects))
    return checks


def _plain(value: Any) -> Any:
    # A date-time result is shown as its ISO text; suites compare JSON values only.
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@command
def main(argv: list[str]) -> int:
    """Run `conformance certlogic DIR`."""
    args = parser(SUITE, "the CertLogic test suite").parse_args(argv)
    root: Path = args.dir
    if not root.is_dir():
        echo(f"error: {root} is not a directory")
        return 2
    defects = known_defects(SUITE)
    files = sorted(
        p for p in root.rglob("*.json") if not any(s in p.name.lower() for s in _NOT_SUITES)
    )
    checks = [c for f in files for c in run_file(f, root, defects)]
    return emit(SUITE, checks, args.json, len(files))
