"""Walks a command's --help tree: every level exits 0, lists its commands, explains every option."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

Main = Callable[[list[str]], int]
INVOCATION = re.compile(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$")
CHOICES = re.compile(r"^  \{([\w,-]+)\}$")
COMMAND_LINE = re.compile(r"^  ([a-z][\w-]*)\s{2,}\S")


def help_text(main: Main, capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main([*argv, "--help"])
    out, err = capsys.readouterr()
    assert code == 0, (argv, err)
    return out


def undocumented_options(text: str) -> list[str]:
    """Option lines of a --help with no help text beside or below them."""
    lines = text.splitlines()
    bad = []
    for i, line in enumerate(lines):
        match = INVOCATION.match(line)
        if match is None or match.group(1).startswith("-h, --help"):
            continue
        below = lines[i + 1] if i + 1 < len(lines) else ""
        if match.group(2) is None and not below.startswith(" " * 8):
            bad.append(match.group(1))
    return bad


def subcommands(text: str) -> list[str]:
    """The commands a --help lists: a `commands:` table or argparse's {a,b,c} line."""
    for line in text.splitlines():
        match = CHOICES.match(line)
        if match:
            return match.group(1).split(",")
    if "\ncommands:\n" in text:
        table = text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
        return [m.group(1) for m in map(COMMAND_LINE.match, table.splitlines()) if m]
    return []


def walk(main: Main, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """argv (joined) -> --help text, for every level of the command tree."""
    seen: dict[str, str] = {}
    todo: list[list[str]] = [[]]
    while todo:
        argv = todo.pop()
        text = help_text(main, capsys, argv)
        seen[" ".join(argv)] = text
        todo += [[*argv, name] for name in subcommands(text)]
    return seen
