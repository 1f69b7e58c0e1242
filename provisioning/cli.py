"""`checkpoint-provision`: technician and central-side tools, one `main(argv) -> int` each."""

from __future__ import annotations

import importlib
import sys

# name -> "module:function"; imported only when called.
SUBCOMMANDS = {
    "keygen": "provisioning.keys:main",
    "issue": "provisioning.issuer:main_issue",
    "trust-bundle": "provisioning.issuer:main_trust_bundle",
    "revoke": "provisioning.issuer:main_revoke",
    "device": "provisioning.device:main",
    "enroll-accept": "provisioning.enrollment:main_accept",
    "selftest": "provisioning.selftest:main",
    "dcc-signers": "provisioning.dcc_trust:main_signers",
    "dcc-rules": "provisioning.dcc_trust:main_rules",
    "dcc-keygen": "provisioning.dcc_commands:main_keygen",
    "dcc-issue": "provisioning.dcc_commands:main_issue",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in SUBCOMMANDS:
        print(f"usage: checkpoint-provision {{{','.join(SUBCOMMANDS)}}} ...", file=sys.stderr)
        return 2
    module_name, function = SUBCOMMANDS[args[0]].split(":")
    code: int = getattr(importlib.import_module(module_name), function)(args[1:])
    return code


if __name__ == "__main__":
    sys.exit(main())
