"""Print the requirements `scripts/install.sh` installs for one stack, read from pyproject.toml.

    python scripts/stack_requirements.py current test,bench   # lines for `pip install -r`

Why this exists: imitation 1.0.1 (the newest release; unmaintained since January 2025) pins
`gymnasium~=0.29` and `stable-baselines3~=2.2.1`, and pip cannot override a dependency's pins. The
*current* stack therefore installs imitation with `--no-deps` and everything else from this list:
irlkit's own dependencies and the chosen extras with imitation removed, the stack's overrides
(gymnasium >= 1.0, stable-baselines3 >= 2.7) in place of irlkit's wider specs, and the packages
imitation's modules really import at run time. The *pinned* stack needs no list: it is what a
plain `pip install .` resolves to (imitation's own pins).

One source of truth: the lists live in pyproject.toml under `[tool.irlkit.stacks]`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pip vendors the same parser
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

STACKS = ("current",)
"""Stacks this script lists; the pinned stack is a plain `pip install .` (imitation's own pins)."""


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def requirements(stack: str, extras: list[str], pyproject: Path) -> list[str]:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data["project"]
    stacks = data["tool"]["irlkit"]["stacks"]
    if stack not in STACKS:
        raise SystemExit(f"stack_requirements: unknown stack {stack!r}; choose one of {', '.join(STACKS)}")
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise SystemExit(f"stack_requirements: unknown extra(s) {unknown}; pyproject has {sorted(optional)}")
    wanted = list(project["dependencies"])
    for extra in extras:
        for req in optional[extra]:
            if req.startswith("irlkit["):  # an extra that names other extras
                inner = req[len("irlkit[") :].split("]")[0].split(",")
                wanted += [r for e in inner for r in optional[e.strip()]]
            else:
                wanted.append(req)
    spec = stacks[stack]
    overrides = {_name(r): r for r in spec.get("override", [])}
    out: list[str] = []
    seen: set[str] = set()
    for req in wanted + list(spec.get("add", [])):
        name = _name(req)
        if name in spec.get("no-deps", []):
            continue
        req = overrides.get(name, req)
        if req not in seen:
            seen.add(req)
            out.append(req)
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    stack = argv[0]
    extras = [e for e in (argv[1] if len(argv) > 1 else "").split(",") if e]
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    print("\n".join(requirements(stack, extras, pyproject)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
