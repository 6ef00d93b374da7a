"""The architecture as a checkable contract: layers, no cycles, Hydra only at the edge.

The import graph is read from the source (every `import`, those inside functions included, and
`"irlkit.x.y:name"` strings that registries import later), so a lazy import cannot hide a break.
Parts are the top-level modules and packages of `irlkit`; `__main__.py` files are the entries.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "irlkit"
HUMAN_INPUT = {"teleop", "feedback", "corrections", "shaping"}
EDGE_ONLY = {"hydra", "omegaconf", "argparse"}
"""Libraries only the entries (`__main__.py`) and the command-line edge (`irlkit/cli/`) may import."""

FORBIDDEN = {
    "store": {
        "envs",
        "algos",
        "evaluate",
        "experts",
        "policies",
        "train",
        "runconfig",
        "cli",
        "bench",
        "transfer",
        *HUMAN_INPUT,
    },
    "envs": {"algos", "evaluate", "experts", "train", "runconfig", "cli", "bench", "transfer", *HUMAN_INPUT},
    "algos": {"evaluate", "train", "runconfig", "cli", "bench", "transfer", *HUMAN_INPUT},
    "evaluate": {"train", "runconfig", "cli", "bench", "transfer", *HUMAN_INPUT},
    **{part: {"train", "runconfig", "cli", "bench", "transfer"} for part in HUMAN_INPUT},
    "train": {"cli", "bench", "transfer"},
    "runconfig": {"cli", "bench", "train", "transfer"},
}
"""part -> parts it must not import (store <- envs <- algos <- evaluate <- human input <- runs <- entries)."""

_MODULE_STRING = re.compile(r"^(irlkit(?:\.\w+)+)(?::\w+)?$")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module this file imports, anywhere in it (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = _MODULE_STRING.match(node.value)
            if m:
                out.add(m.group(1))
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    if parts[-1] == "__main__":
        return "entries"
    return parts[1] if len(parts) > 1 else "irlkit"


def _graph() -> dict[str, dict[str, set[str]]]:
    """part -> {imported part or library: {importing modules}}."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in PACKAGE.rglob("*.py"):
        me = _module_name(path)
        edges = graph.setdefault(_part(me), {})
        for mod in _imports(path):
            if mod.startswith("irlkit."):
                target = _part(mod) if not mod.endswith(".__main__") else "entries"
                if target in ("irlkit",) or target == _part(me):
                    continue
            else:
                target = mod.split(".")[0]
            edges.setdefault(target, set()).add(me)
    return graph


def test_layers_hold() -> None:
    graph = _graph()
    breaks = [
        f"{m} imports {target}"
        for part, bad in FORBIDDEN.items()
        for target, mods in graph.get(part, {}).items()
        if target in bad
        for m in sorted(mods)
    ]
    assert not breaks, "layering breaks:\n" + "\n".join(breaks)


def test_hydra_and_argparse_only_at_the_edge() -> None:
    graph = _graph()
    breaks = [
        f"{m} imports {lib}"
        for part, edges in graph.items()
        if part not in ("entries", "cli")
        for lib, mods in edges.items()
        if lib in EDGE_ONLY
        for m in sorted(mods)
    ]
    assert not breaks, "only irlkit/cli/ and __main__.py entries may touch Hydra or argparse:\n" + "\n".join(breaks)


def test_no_cycles_between_parts() -> None:
    graph = _graph()
    parts = {p: {t for t in edges if t in graph and t != "entries"} for p, edges in graph.items() if p != "entries"}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        for nxt in sorted(parts.get(node, ())):
            if nxt in stack:
                cycle = stack[stack.index(nxt) :] + [nxt]
                if sorted(cycle[:-1]) not in [sorted(c[:-1]) for c in cycles]:
                    cycles.append(cycle)
            elif len(stack) < len(parts):
                visit(nxt, stack + [nxt])

    for start in sorted(parts):
        visit(start, [start])
    assert not cycles, "import cycles between parts: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    """A module over ~400 lines says in its docstring why it is one module."""
    lines = path.read_text(encoding="utf-8").count("\n")
    if lines <= 420:
        return
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert "one module" in doc.lower(), (
        f"{path.relative_to(PACKAGE)} has {lines} lines: split it, or say in its docstring why it is one module"
    )
