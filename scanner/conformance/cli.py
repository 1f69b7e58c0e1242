"""`checkpoint-scanner conformance {dcc,rules,certlogic} DIR [--json]`: run one EU suite."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

RUNNERS = {
    "dcc": "scanner.conformance.dcc",  # dgc-testdata: certificates, stage by stage
    "rules": "scanner.conformance.rules",  # dgc-business-rules-testdata: rules and their tests
    "certlogic": "scanner.conformance.certlogic",  # the CertLogic evaluator suite
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in RUNNERS:
        print(
            f"usage: checkpoint-scanner conformance {{{','.join(RUNNERS)}}} DIR [--json]",
            file=sys.stderr,
        )
        return 2
    code: int = importlib.import_module(RUNNERS[args[0]]).main(args[1:])
    return code
