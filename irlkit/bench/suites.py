"""Suites: which (algorithm, env) cells a benchmark trains, with what budget, over how many seeds.

A suite is a YAML file in `conf/suite/` (a Hydra config group) validated against `SuiteConfig`.
Each cell is named `<algo>-<env>` (algorithm and env config names, as `python -m irlkit` takes
them) and carries its own budget, because one budget per algorithm cannot fit envs whose episodes
and difficulty differ tenfold. Listing cells explicitly, rather than a product of algorithms and
envs, also lets a suite hold cells that only make sense together (MCE IRL only on tabular envs).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from irlkit.errors import IrlkitError


@dataclasses.dataclass
class CellConfig:
    """One (algorithm, env) cell of a suite."""

    budget: int = 0
    """The algorithm's budget (`algo.budget`: batches for BC, iterations for MCE IRL, env steps
    otherwise); 0 keeps the algorithm's (and the tuned conf/algo_env/) default."""
    overrides: list[str] = dataclasses.field(default_factory=list)
    """Extra training overrides for this cell only, e.g. `algo.ppo.n_steps=256`."""


@dataclasses.dataclass
class SuiteConfig:
    name: str = "smoke"
    description: str = ""
    seeds: int = 1
    """Seeds per cell unless the command line says `seeds=N`."""
    overrides: list[str] = dataclasses.field(default_factory=list)
    """Training overrides for every cell of the suite (before the cell's own)."""
    cells: dict[str, CellConfig] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BenchConfig:
    """The top-level config of `python -m irlkit.bench` (conf/bench.yaml)."""

    suite: SuiteConfig = dataclasses.field(default_factory=SuiteConfig)
    seeds: int = 1
    """Seeds 0..seeds-1 for every cell."""
    out: str = "bench_out/smoke"
    """The sweep folder: one run folder per (cell, seed), and report/."""
    overrides: list[str] = dataclasses.field(default_factory=list)
    """Training overrides applied to every run (after the cell's own), e.g. `[eval.episodes=20]`."""
    cell: str = "???"
    """Set by the sweep: the `<algo>-<env>` cell this job trains."""
    seed: int = 0
    """Set by the sweep."""
    report: bool = True
    """Write the report when the sweep ends."""


def split_cell(cell: str) -> tuple[str, str]:
    """`"mce_irl-cliff_world"` -> `("mce_irl", "cliff_world")`; config names hold no `-`."""
    algo, sep, env = cell.partition("-")
    if not sep or not algo or not env:
        raise IrlkitError(f"cell {cell!r} is not '<algo>-<env>' (for example 'gail-cartpole')")
    return algo, env


def cell_names(cells: Any) -> str:
    """The suite's cells as the comma-separated sweep list Hydra's basic sweeper parses."""
    names = list(cells.keys()) if hasattr(cells, "keys") else list(cells)
    if not names:
        raise IrlkitError("the suite lists no cells; add some under suite.cells in conf/suite/<name>.yaml")
    for name in names:
        split_cell(name)
    return ",".join(names)


def training_overrides(
    suite: SuiteConfig | Any, cell: CellConfig | Any, *, algo: str, env: str, seed: int, extra: list[str]
) -> list[str]:
    """The overrides that turn the training config into this job's run: suite-wide, then the
    cell's own, then the command line's `overrides=[...]`, so the most specific wins."""
    out = [f"algo={algo}", f"env={env}", f"seed={seed}", "progress=false"]
    if int(cell.budget) > 0:
        out.append(f"algo.budget={int(cell.budget)}")
    out += list(suite.overrides)
    out += list(cell.overrides)
    out += list(extra)
    return out
