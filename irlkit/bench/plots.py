"""The report's figures (matplotlib, Agg backend, so they render on headless machines and workers).

- `scores.png`: normalized score per env and algorithm, bar = mean over seeds, error bar = 95%
  Student-t CI, dots = the individual seeds; a last panel with each algorithm's aggregate IQM and
  mean with their stratified-bootstrap CIs.
- `curves.png`: learning curves from each run's `curve.csv`, one panel per env, normalized by
  that run's own demo and random returns, and a star at the end for the final evaluation (its
  own episodes and seeds; a curve can stop short of the budget when the budget is not a whole
  number of rollouts). The x axis is the share of the training budget spent,
  because BC's budget is batches and it samples no env steps at all; the legend gives each
  algorithm's budget and unit.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from irlkit.bench.report.runs import RunRecord
    from irlkit.bench.report.stats import Aggregate


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _layout(n: int, max_cols: int = 4) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def plot_scores(records: Sequence["RunRecord"], aggs: Sequence["Aggregate"], path: Path) -> Path:
    from irlkit.bench.report.markdown import ALGO_ORDER, ENV_ORDER, _order
    from irlkit.bench.report.stats import mean_ci

    plt = _pyplot()
    algos = _order((r.algo for r in records), ALGO_ORDER)
    envs = _order((r.env for r in records), ENV_ORDER)
    colors = {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(algos)}
    panels = len(envs) + (1 if aggs else 0)
    rows, cols = _layout(panels)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.2 * rows), squeeze=False)
    for ax, env in zip(axes.flat, envs):
        here = [a for a in algos if any(r.algo == a and r.env == env for r in records)]
        for i, algo in enumerate(here):
            vals = [
                r.normalized_score
                for r in records
                if r.algo == algo and r.env == env and not math.isnan(r.normalized_score)
            ]
            if not vals:
                continue
            m, h = mean_ci(vals)
            ax.bar(i, m, color=colors[algo], alpha=0.75, yerr=None if math.isnan(h) else h, capsize=4)
            ax.scatter([i] * len(vals), vals, color="black", s=10, zorder=3)
        ax.set_title(env)
        ax.set_xticks(range(len(here)), here, rotation=45, ha="right", fontsize=8)
        ax.axhline(1.0, color="gray", lw=0.8, ls="--")
        ax.axhline(0.0, color="gray", lw=0.8)
        ax.set_ylabel("normalized score")
    if aggs:
        ax = axes.flat[len(envs)]
        for i, a in enumerate(aggs):
            ax.errorbar(
                [a.iqm],
                [i + 0.15],
                xerr=[[a.iqm - a.iqm_ci[0]], [a.iqm_ci[1] - a.iqm]],
                fmt="o",
                color=colors.get(a.algo, "black"),
                capsize=3,
                label="IQM" if i == 0 else None,
            )
            ax.errorbar(
                [a.mean],
                [i - 0.15],
                xerr=[[a.mean - a.mean_ci[0]], [a.mean_ci[1] - a.mean]],
                fmt="s",
                color=colors.get(a.algo, "black"),
                mfc="white",
                capsize=3,
                label="mean" if i == 0 else None,
            )
        ax.set_yticks(range(len(aggs)), [a.algo for a in aggs], fontsize=8)
        ax.axvline(1.0, color="gray", lw=0.8, ls="--")
        ax.set_title("aggregate (95% bootstrap CI)")
        ax.set_xlabel("normalized score")
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[panels:]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def read_curve(run_dir: Path) -> np.ndarray:
    """curve.csv as an array of rows (budget_done, env_steps, return_mean, wall_s); empty if absent."""
    path = Path(run_dir) / "curve.csv"
    if not path.is_file():
        return np.zeros((0, 4))
    with open(path, newline="") as f:
        rows = [[float(x) for x in row] for i, row in enumerate(csv.reader(f)) if i > 0 and row]
    return np.asarray(rows, dtype=float).reshape(-1, 4)


def plot_curves(records: Sequence["RunRecord"], path: Path) -> Path:
    from irlkit.bench.report.markdown import ALGO_ORDER, ENV_ORDER, _order

    plt = _pyplot()
    algos = _order((r.algo for r in records), ALGO_ORDER)
    envs = _order((r.env for r in records), ENV_ORDER)
    colors = {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(algos)}
    rows, cols = _layout(len(envs))
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.2 * rows), squeeze=False)
    for ax, env in zip(axes.flat, envs):
        for algo in algos:
            runs = [r for r in records if r.algo == algo and r.env == env]
            curves = []
            for r in runs:
                c = read_curve(Path(r.run_dir))
                scale = r.demo_return - r.random_return
                if len(c) == 0 or r.budget <= 0 or not scale:
                    continue
                x = c[:, 0] / r.budget
                y = (c[:, 2] - r.random_return) / scale
                curves.append((x, y))
            if not curves:
                continue
            n = min(len(x) for x, _ in curves)
            xs = np.mean([x[:n] for x, _ in curves], axis=0)
            ys = np.array([y[:n] for _, y in curves])
            unit = {"env_steps": "steps", "batches": "batches", "iterations": "iters"}.get(
                runs[0].budget_unit, runs[0].budget_unit
            )
            ax.plot(xs, ys.mean(axis=0), "o-", ms=3, color=colors[algo], label=f"{algo} ({runs[0].budget:,} {unit})")
            if len(curves) > 1:
                ax.fill_between(xs, ys.min(axis=0), ys.max(axis=0), color=colors[algo], alpha=0.15)
            finals = [r.normalized_score for r in runs if not math.isnan(r.normalized_score)]
            if finals:  # the final evaluation (more episodes, other seeds than the curve points)
                ax.plot([1.0], [float(np.mean(finals))], "*", ms=9, color=colors[algo], mec="black", mew=0.5)
        ax.set_title(env)
        ax.set_xlabel("share of training budget")
        ax.set_ylabel("normalized return")
        ax.axhline(1.0, color="gray", lw=0.8, ls="--")
        ax.set_xlim(0, 1.02)
        ax.legend(fontsize=6, loc="best")
    for ax in list(axes.flat)[len(envs) :]:
        ax.set_visible(False)
    fig.suptitle(
        "learning curves (curve.csv): mean over seeds, band = min–max; ★ = final evaluation (eval.json), mean over seeds",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
