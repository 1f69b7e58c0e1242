"""`conformance rules DIR`: each rule's tests (dgc-business-rules-testdata) through the rule engine.

DIR holds `<country>/<rule id>/rule.json` with `tests/*.json` beside it; each test gives a
payload, the external parameters and the expected result of the rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.cli.kit import command, echo
from scanner.conformance.report import Check, Defect, Result, emit, judge, known_defects, parser
from scanner.formats.hc1.rules import Outcome, RuleError, evaluate_rule, parse_rule

SUITE = "rules"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def run_rule(rule_file: Path, root: Path, defects: dict[tuple[str, str], Defect]) -> list[Check]:
    """Every test of one rule."""
    name = rule_file.parent.relative_to(root).as_posix()
    try:
        rule = parse_rule(_load(rule_file))
    except (OSError, ValueError, RuleError) as exc:
        return [Check(name, "rule.json", "a rule", None, Result.DISAGREE, str(exc))]
    checks = []
    for test_file in sorted((rule_file.parent / "tests").glob("*.json")):
        case = f"{name}/tests/{test_file.name}"
        try:
            test = _load(test_file)
            payload, external, expected = test["payload"], test["external"], test["expected"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            checks.append(Check(case, "test", "a test", None, Result.NOT_APPLICABLE, str(exc)))
            continue
        result = evaluate_rule(rule, payload, external)
        actual = result.passed
        detail = result.detail if result.outcome is Outcome.ERROR else str(test.get("name", ""))
        checks.append(judge(case, "expected", expected, actual, defects, detail=detail))
    return checks


@command
def main(argv: list[str]) -> int:
    """Run `conformance rules DIR`."""
    args = parser(SUITE, "DCC Gateway rules and their tests").parse_args(argv)
    root: Path = args.dir
    if not root.is_dir():
        echo(f"error: {root} is not a directory")
        return 2
    defects = known_defects(SUITE)
    rule_files = sorted(root.glob("*/*/rule.json"))
    checks = [c for f in rule_files for c in run_rule(f, root, defects)]
    return emit(SUITE, checks, args.json, len(rule_files))
