"""Aggregate the run folders of a benchmark into `results.csv`, `report.md` and plots.

Reads only run folders (`eval.json`, `curve.csv`), never algorithm code, so it also reports sweeps
made by hand (`python -m irlkit -m ...`): `python -m irlkit.bench.report DIR`.

Statistics, and why:
- Per cell (algorithm × env), mean ± 95% confidence interval over seeds from Student's t
  distribution. With 3 to 10 seeds a bootstrap interval is too narrow (it can only resample the
  few values it has); t is the textbook interval for a mean of few roughly normal values.
- Per algorithm, across envs, the aggregate mean and interquartile mean (IQM) of normalized scores
  with stratified-bootstrap 95% CIs from `rliable` (Agarwal et al. 2021, "Deep RL at the Edge of
  the Statistical Precipice"), the way imitation's published table aggregates.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional, Sequence

from irlkit.bench.report.markdown import (
    ALGO_ORDER,
    ENV_ORDER,
    PUBLISHED,
    PUBLISHED_AGGREGATE,
    cell_table,
    render_markdown,
)
from irlkit.bench.report.runs import RESULT_COLUMNS, RunRecord, RunStatus, collect_runs, read_run, write_results_csv
from irlkit.bench.report.stats import Aggregate, aggregate_scores, aggregates, iqm, mean_ci, score_matrices
from irlkit.errors import IrlkitError

__all__ = [
    "ALGO_ORDER",
    "ENV_ORDER",
    "PUBLISHED",
    "PUBLISHED_AGGREGATE",
    "RESULT_COLUMNS",
    "Aggregate",
    "RunRecord",
    "RunStatus",
    "aggregate_scores",
    "aggregates",
    "cell_table",
    "check_report_extras",
    "collect_runs",
    "iqm",
    "mean_ci",
    "read_run",
    "render_markdown",
    "score_matrices",
    "write_report",
    "write_results_csv",
]

REPORT_MODULES = ("rliable.library", "rliable.metrics", "matplotlib.pyplot")
"""What writing a report imports beyond irlkit's own dependencies: the `bench` extra."""


def check_report_extras() -> None:
    """Refuse before anything runs when the report could not be written at the end: a benchmark
    that trained for an hour and then had no report (one warning in the output, exit 0) was what
    a missing extra used to give."""
    missing = []
    for name in REPORT_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as err:
            missing.append(f"{name.split('.')[0]} ({err})")
    if missing:
        raise IrlkitError(
            f"the benchmark report needs the bench extra, and these imports fail here: {'; '.join(missing)}. "
            "Install it with pip install 'irlkit[bench]' (bash scripts/install.sh test installs it too), or run "
            "the sweep without a report (report=false) and write it later with python -m irlkit.bench.report DIR."
        )


def write_report(
    sweep_dir: Path,
    report_dir: Optional[Path] = None,
    *,
    cells: Optional[Sequence[str]] = None,
    seeds: Optional[Sequence[int]] = None,
    title: str = "Benchmark report",
    description: str = "",
    command: str = "",
    reps: int = 10_000,
    plots: bool = True,
) -> Path:
    """Write results.csv, report.md and the plots into `report_dir` (default `<sweep_dir>/report`)."""
    sweep_dir = Path(sweep_dir)
    report_dir = Path(report_dir) if report_dir else sweep_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    records, status = collect_runs(sweep_dir, cells=cells, seeds=seeds)
    write_results_csv(records, report_dir / "results.csv")
    aggs = aggregates(records, reps=reps)
    made: list[Path] = []
    if plots and records:
        from irlkit.bench.plots import plot_curves, plot_scores

        made.append(plot_scores(records, aggs, report_dir / "scores.png"))
        made.append(plot_curves(records, report_dir / "curves.png"))
    md = render_markdown(
        records,
        status,
        aggs,
        title=title,
        description=description,
        command=command,
        plots=[str(p) for p in made],
        reps=reps,
    )
    (report_dir / "report.md").write_text(md + "\n")
    return report_dir
