"""Benchmarks: suites of (algorithm, env) cells run as Hydra multiruns, and their reports.

`python -m irlkit.bench suite=<smoke|classic|mujoco>` runs a suite (docs/bench.md);
`python -m irlkit.bench.report DIR` rebuilds a report from run folders. The report side reads run
folders only (eval.json, curve.csv), never algorithm code.

The names below are imported on first use, not with the package: `python -m irlkit.bench.report`
imports this package first, and a package that had already imported `report` would make runpy
warn that the module it is about to run is in `sys.modules` already.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RunRecord": "irlkit.bench.report",
    "aggregate_scores": "irlkit.bench.report",
    "aggregates": "irlkit.bench.report",
    "collect_runs": "irlkit.bench.report",
    "iqm": "irlkit.bench.report",
    "mean_ci": "irlkit.bench.report",
    "write_report": "irlkit.bench.report",
    "BenchConfig": "irlkit.bench.suites",
    "CellConfig": "irlkit.bench.suites",
    "SuiteConfig": "irlkit.bench.suites",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'irlkit.bench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
