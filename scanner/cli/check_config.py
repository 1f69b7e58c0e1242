"""`checkpoint-scanner check-config [FILE]`: validate a scanner.toml as the daemon does.

The daemon's own validation, then every check `run` makes of the files, pins and
broker settings it names.

Light on purpose: a technician runs it at the roadside, so it loads the
settings modules only, never OpenCV, numpy, zxing or paho (PyNaCl only to check
the keys it names, and not for --syntax-only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner.cli.kit import EXIT_OK, EXIT_USAGE, command, echo, parser, print_json
from scanner.config.load import DEFAULT_PATH, Config, effective, load
from scanner.errors import ConfigError


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-scanner check-config`: validate a scanner.toml as `run` would."""
    p = parser(
        "checkpoint-scanner check-config",
        "Check a scanner.toml as `run` would: every key, then the key files, trust data,\n"
        "GPIO pins and broker settings it names, without opening any hardware.",
    )
    p.add_argument(
        "file",
        type=Path,
        nargs="?",
        default=DEFAULT_PATH,
        help="the scanner.toml to check; an absolute path is the unit's, under --sysroot",
    )
    p.add_argument(
        "--sysroot", type=Path, default=Path("/"), help="the unit's / (for a mounted SD card)"
    )
    p.add_argument(
        "--syntax-only",
        action="store_true",
        help="check the file alone, not the files it names (on a laptop, say)",
    )
    p.add_argument("--print", action="store_true", help="print the effective configuration as TOML")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout, errors included")
    args = p.parse_args(argv)
    args.file = _on_unit(args.sysroot, args.file)
    problems: list[str] = []
    config: Config | None = None
    try:
        config = load(args.file)
    except ConfigError as exc:
        problems = exc.problems
    if config is not None and not args.syntax_only:
        # Imported here: the key checks need PyNaCl, which --help and --syntax-only do not.
        from scanner.config.check import preflight  # noqa: PLC0415

        problems = [f"{args.file}: {problem}" for problem in preflight(config, args.sysroot)]
    report: dict[str, Any] = {"ok": not problems, "file": str(args.file), "errors": problems}
    if config is not None:
        report["config"] = effective(config)
    if args.json:
        print_json(report)
    elif problems:
        for problem in problems:
            echo(f"error: {problem}", err=True)
    elif args.print and config is not None:
        import tomlkit  # noqa: PLC0415 - only for --print

        echo(tomlkit.dumps(effective(config)), end="")
    elif config is not None:
        echo(f"{args.file}: OK (checkpoint {config.device.checkpoint_id}, "
              f"camera {config.camera.source}, mqtt {'on' if config.mqtt else 'off'})")  # fmt: skip
    return EXIT_USAGE if problems else EXIT_OK


def _on_unit(sysroot: Path, file: Path) -> Path:
    """Map the unit's /etc/... under a mounted card, as the README writes it.

    A path already inside the sysroot, or a relative one, is taken as given.
    """
    if sysroot == Path("/") or not file.is_absolute() or file.is_relative_to(sysroot):
        return file
    return sysroot / file.relative_to(file.anchor)
