"""`checkpoint-scanner conformance {dcc,rules,certlogic} DIR [--json]`: run one EU suite."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from scanner.cli.kit import dispatch

RUNNERS = {
    "dcc": (
        "scanner.conformance.dcc:main",
        "dgc-testdata cases, stage by stage, through the HC1 verifier and QR decoder",
    ),
    "rules": (
        "scanner.conformance.rules:main",
        "dgc-business-rules-testdata: every rule's tests through the rule engine",
    ),
    "certlogic": ("scanner.conformance.certlogic:main", "the CertLogic evaluator test suite"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the conformance suite named in argv[0]."""
    description = "The EU's own test suites through the project's code: agree, disagree, n/a."
    args = list(sys.argv[1:] if argv is None else argv)
    return dispatch("checkpoint-scanner conformance", description, RUNNERS, args)
