"""The import graph follows the flow: no module imports a later stage or another package's privates.

Read with `ast` from the source, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# scanner's parts in flow order: a part may import itself and the parts before
# it, never one after it. The sinks (lights, display, outbox) come before the
# scan step that drives them; config, which names every part's settings, comes
# after them all and before the daemon that reads it.
FLOW = (
    "model",
    "errors",
    "formats",
    "trust",
    "camera",
    "lights",
    "display",
    "outbox",
    "decide",
    "uplink",
    "config",
    "run",
    "app",
    "demo",
    "cli",
    "bench",
)
# Above scanner: provisioning and ops use it; it never uses them.
TOOLS = ("provisioning", "ops")


def part(module: str) -> str | None:
    """The part of scanner a dotted module belongs to (`scanner.decide.verify` -> `decide`)."""
    names = module.split(".")
    if names[0] != "scanner":
        return names[0] if names[0] in TOOLS else None
    return names[1] if len(names) > 1 else "model"  # `import scanner` (the version) is a leaf


def modules() -> Iterator[tuple[str, Path]]:
    for top in ("scanner", *TOOLS):
        for path in sorted((ROOT / top).rglob("*.py")):
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield dotted.removesuffix(".__init__"), path


def imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, imported names) for every import statement in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def rank(name: str) -> int:
    return len(FLOW) + TOOLS.index(name) if name in TOOLS else FLOW.index(name)


ALL = list(modules())


def test_every_part_of_scanner_is_placed_in_the_flow() -> None:
    parts = {part(module) for module, _ in ALL}
    assert parts - {None} <= set(FLOW) | set(TOOLS)


@pytest.mark.parametrize(("module", "path"), ALL, ids=[module for module, _ in ALL])
def test_imports_run_with_the_flow(module: str, path: Path) -> None:
    here = part(module)
    assert here is not None
    backwards = []
    for line, target, _ in imports(path):
        there = part(target)
        if there is not None and rank(there) > rank(here):
            backwards.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({there})")
    assert backwards == []


@pytest.mark.parametrize(("module", "path"), ALL, ids=[module for module, _ in ALL])
def test_no_reach_into_another_package_private_parts(module: str, path: Path) -> None:
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    reaches = []
    for line, target, names in imports(path):
        if part(target) is None or target.startswith(package + ".") or target == package:
            continue
        private = [n for n in target.split(".") if n.startswith("_") and n != "__init__"]
        private += [n for n in names if n.startswith("_")]
        if private:
            reaches.append(f"{path.relative_to(ROOT)}:{line} imports {private} from {target}")
    assert reaches == []


def test_the_check_sees_a_backwards_import_even_inside_a_function(tmp_path: Path) -> None:
    source = tmp_path / "verify.py"
    source.write_text("def f():\n    from scanner.uplink.service import Uplink\n")
    targets = [part(target) for _, target, _ in imports(source)]
    assert targets == ["uplink"]
    assert rank("uplink") > rank(part("scanner.decide.verify") or "")


def test_the_readme_layout_table_names_every_part_of_scanner() -> None:
    table = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    table = table.split("\n\n", 2)[1]
    packages = [p.name for p in (ROOT / "scanner").iterdir() if (p / "__init__.py").exists()]
    modules = [p.stem for p in (ROOT / "scanner").glob("*.py") if p.stem != "__init__"]
    missing = [f"scanner/{name}/" for name in packages if f"`scanner/{name}/`" not in table]
    missing += [f"scanner/{name}.py" for name in modules if f"`scanner/{name}.py`" not in table]
    assert missing == []
    assert sorted(packages + modules) == sorted(FLOW)  # and every part has its place in the flow
