"""`checkpoint-provision keygen`: Ed25519 keys for each role, private half mode 0600."""

from __future__ import annotations

from pathlib import Path

from nacl.signing import SigningKey

from scanner.cli.kit import CommandError, command, echo, parser, print_json
from scanner.errors import KeyFileError
from scanner.trust.keys import kid_hex, public_key_text, write_private_key

ROLES = ("root", "issuer", "revocation", "ops", "device", "dcc")  # dcc: EU DCC trust objects


def generate(out: Path) -> tuple[Path, Path, str]:
    """Write OUT.key (0600, created exclusively) and OUT.pub; return their paths and the kid."""
    key = SigningKey.generate()
    private, public = out.with_name(out.name + ".key"), out.with_name(out.name + ".pub")
    if public.exists():
        raise CommandError(f"{public} exists; refusing to replace a published key")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_private_key(private, key)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None
    public.write_text(public_key_text(key.verify_key), encoding="ascii")
    return private, public, kid_hex(key.verify_key)


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-provision keygen`: an Ed25519 key pair for a role."""
    p = parser("checkpoint-provision keygen", "Generate an Ed25519 key pair for a role.")
    p.add_argument("--role", required=True, choices=ROLES, help="what the key will sign")
    p.add_argument(
        "--out", required=True, type=Path, help="path prefix: writes OUT.key and OUT.pub"
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    private, public, kid = generate(args.out)
    if args.json:
        print_json({"role": args.role, "kid": kid, "private": str(private), "public": str(public)})
    else:
        echo(f"{args.role} key {kid}: {private} (keep secret, mode 0600), {public}")
    return 0
