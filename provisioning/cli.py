"""`checkpoint-provision`: technician and central-side tools, one `main(argv) -> int` each."""

from __future__ import annotations

import sys

from scanner.cli.kit import dispatch

# name -> ("module:function", one line for --help); imported only when called.
SUBCOMMANDS = {
    "keygen": ("provisioning.keys:main", "make an Ed25519 key pair for a role (central)"),
    "trust-bundle": (
        "provisioning.issuer:main_trust_bundle",
        "sign the issuer, revocation and ops keys with the root key (central)",
    ),
    "issue": ("provisioning.issuer:main_issue", "sign a pass or a test card as QR text and PNG"),
    "revoke": ("provisioning.issuer:main_revoke", "sign a revocation update (central)"),
    "enroll-accept": (
        "provisioning.enrollment:main_accept",
        "check a unit's enrollment request and seal its broker credentials (central)",
    ),
    "decommission": (
        "provisioning.decommission:main",
        "retire a unit: its broker login, ACL and Home Assistant device (central)",
    ),
    "device": (
        "provisioning.device:main",
        "on the unit: init its identity and configuration, enroll, install credentials",
    ),
    "selftest": ("provisioning.selftest:main", "on the unit: the roadside checklist"),
    "dcc-signers": (
        "provisioning.dcc_trust:main_signers",
        "sign the EU DCC signer (DSC) list with the dcc key (central)",
    ),
    "dcc-rules": (
        "provisioning.dcc_trust:main_rules",
        "sign the checkpoint's EU DCC entry rules with the dcc key (central)",
    ),
    "dcc-keygen": (
        "provisioning.dcc_commands:main_keygen",
        "make a DSC key and self-signed DSC for test and demo DCCs",
    ),
    "dcc-issue": (
        "provisioning.dcc_commands:main_issue",
        "sign a test or demo EU DCC as HC1 text and PNG",
    ),
}
DESCRIPTION = "Keys, passes and trust data for central ops; setup and checks for technicians."


def main(argv: list[str] | None = None) -> int:
    """Run the `checkpoint-provision` subcommand named in `argv` (sys.argv by default)."""
    args = sys.argv[1:] if argv is None else argv
    return dispatch("checkpoint-provision", DESCRIPTION, SUBCOMMANDS, args)


if __name__ == "__main__":
    sys.exit(main())
