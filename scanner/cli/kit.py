"""What every command-line entry point shares: one-line errors, exit codes, JSON output, times."""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import scanner
from scanner.errors import ScannerError

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a problem (a check failed)
EXIT_USAGE = 2  # bad arguments or unusable input (a bundle not signed by the root...)


class CommandError(ScannerError):
    """Ends a command with one line on stderr and an exit status."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


class _EarlyExitError(Exception):
    """--help or --version finished: the command ends with this status instead of SystemExit."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default where there is one; keeps line breaks in descriptions.

    No default is shown for None, an off flag or []; descriptions and epilogs keep
    their line breaks.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default in (None, False, "", [], (), argparse.SUPPRESS) or not action.option_strings:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Sub-parsers are made by add_parser with this class: they get the formatter too.
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            echo(message, end="", err=True)
        raise _EarlyExitError(status)


def parser(prog: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    """An ArgumentParser whose errors become CommandError (one line, exit 2).

    Its help shows every option's default; --help returns 0 from the command.
    """
    return _Parser(prog=prog, description=description, epilog=epilog)


def dispatch(
    prog: str, description: str, table: dict[str, tuple[str, str]], argv: list[str]
) -> int:
    """Run subcommand argv[0] from `table` (name -> ("module:function", one line of help)).

    The module is imported only when its subcommand runs, so `--help` and a quick
    check stay light on a Pi.
    """
    listing = "\n".join(f"  {name:16} {summary}" for name, (_, summary) in table.items())
    usage = f"usage: {prog} [--help] [--version] COMMAND [ARGS]"
    text = f"{usage}\n\n{description}\n\ncommands:\n{listing}\n\n"
    text += f"`{prog} COMMAND --help` describes each command.\n"
    if argv and argv[0] in ("-h", "--help"):
        echo(text, end="")
        return EXIT_OK
    if argv and argv[0] == "--version":
        echo(f"{prog} {scanner.__version__}")
        return EXIT_OK
    if not argv or argv[0] not in table:
        problem = f"unknown command {argv[0]!r}" if argv else "no command given"
        choices = ", ".join(table)
        echo(f"error: {prog}: {problem}; choose from {choices} (--help)", err=True)
        return EXIT_USAGE
    module_name, function = table[argv[0]][0].split(":")
    code: int = getattr(importlib.import_module(module_name), function)(argv[1:])
    return code


def command(fn: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
    """Wrap a `main(argv)` so a CommandError becomes its message and status."""

    @functools.wraps(fn)
    def wrapper(argv: list[str]) -> int:
        try:
            return fn(argv)
        except CommandError as exc:
            echo(f"error: {exc}", err=True)
            return exc.status
        except _EarlyExitError as done:
            return done.status
        except KeyboardInterrupt:
            return 130

    return wrapper


def echo(text: str = "", *, err: bool = False, end: str = "\n", flush: bool = False) -> None:
    """Write one line of a command's output: to stdout, or to stderr with `err` (as click.echo).

    Commands write through here rather than print() (ruff T20), so what goes to which
    stream is a decision in one place; the stream is looked up at each call, so a test's
    capture or a redirect sees it.
    """
    stream = sys.stderr if err else sys.stdout
    stream.write(text + end)
    if flush:
        stream.flush()


def print_json(obj: Any) -> None:
    """Write `obj` to stdout as one compact JSON line, flushed."""
    echo(json.dumps(obj, ensure_ascii=False, separators=(",", ":")), flush=True)


def parse_instant(text: str) -> int:
    """An ISO 8601 instant with a zone (e.g. 2026-12-01T00:00:00Z) as Unix seconds."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not an ISO 8601 time: {text!r}") from None
    if parsed.tzinfo is None:
        raise CommandError(f"time {text!r} needs a zone, e.g. a trailing Z for UTC")
    return int(parsed.timestamp())


def format_instant(seconds: int) -> str:
    """Unix seconds as an ISO 8601 UTC instant (2026-12-01T00:00:00Z)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
