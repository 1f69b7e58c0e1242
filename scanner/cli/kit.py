"""What every command-line entry point shares: one-line errors, exit codes, JSON output, times."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a problem (a check failed)
EXIT_USAGE = 2  # bad arguments or unusable input (a bundle not signed by the root...)


class CommandError(Exception):
    """Ends a command with one line on stderr and an exit status."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{self.prog}: {message}")


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An ArgumentParser whose errors become CommandError (one line, exit 2)."""
    return _Parser(prog=prog, description=description)


def command(fn: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
    """Wrap a `main(argv)` so a CommandError becomes its message and status."""

    @functools.wraps(fn)
    def wrapper(argv: list[str]) -> int:
        try:
            return fn(argv)
        except CommandError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.status
        except KeyboardInterrupt:
            return 130

    return wrapper


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, separators=(",", ":")), flush=True)


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
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
