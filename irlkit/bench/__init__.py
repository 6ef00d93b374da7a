"""Benchmarks: suites of (algorithm, env) cells run as Hydra multiruns, and their reports.

`python -m irlkit.bench suite=<smoke|classic|mujoco>` runs a suite (docs/bench.md);
`python -m irlkit.bench.report DIR` rebuilds a report from run folders. The report side reads run
folders only (eval.json, curve.csv), never algorithm code.
"""

from irlkit.bench.report import RunRecord, aggregate_scores, aggregates, collect_runs, iqm, mean_ci, write_report
from irlkit.bench.suites import BenchConfig, CellConfig, SuiteConfig

__all__ = [
    "BenchConfig",
    "CellConfig",
    "RunRecord",
    "SuiteConfig",
    "aggregate_scores",
    "aggregates",
    "collect_runs",
    "iqm",
    "mean_ci",
    "write_report",
]
