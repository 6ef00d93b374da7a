"""The report's statistics: Student-t intervals per cell, rliable's IQM and stratified bootstrap across envs."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Sequence

import numpy as np

from irlkit.bench.report.runs import RunRecord


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval (NaNs dropped).

    The half-width is NaN for fewer than two values: one seed says nothing about spread."""
    from scipy import stats

    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan")
    sem = float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, float(stats.t.ppf(0.5 + confidence / 2, df=x.size - 1) * sem)


def iqm(values: np.ndarray) -> float:
    """Interquartile mean of all values: the mean of the middle 50% (rliable's definition,
    scipy's 25%-trimmed mean, which trims whole values from each end)."""
    from rliable import metrics

    return float(metrics.aggregate_iqm(np.asarray(values, dtype=float)))


@dataclasses.dataclass
class Aggregate:
    """One algorithm's scores across envs (normalized scores, runs × envs)."""

    algo: str
    envs: list[str]
    runs_per_env: int
    mean: float
    mean_ci: tuple[float, float]
    iqm: float
    iqm_ci: tuple[float, float]


def aggregate_scores(
    scores: dict[str, np.ndarray], *, reps: int = 10_000, seed: int = 0, confidence: float = 0.95
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """rliable's stratified bootstrap over runs within each env: algo -> (point [mean, IQM],
    interval [[mean lo, IQM lo], [mean hi, IQM hi]]). `scores[algo]` is a runs × envs matrix."""
    from rliable import library as rly
    from rliable import metrics

    def mean_and_iqm(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_mean(x), metrics.aggregate_iqm(x)])

    # rliable 1.2's StratifiedBootstrap draws its indices from numpy's global RNG
    # (np.random.choice), not from the random_state it is given: seed that too, and put it back,
    # so the same runs always give the same intervals.
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            # arch 7 deprecates the random_state that rliable passes; the numbers are unaffected
            warnings.filterwarnings("ignore", message="random_state is deprecated", category=FutureWarning)
            points, intervals = rly.get_interval_estimates(
                scores,
                mean_and_iqm,
                reps=reps,
                confidence_interval_size=confidence,
                random_state=np.random.RandomState(seed),
            )
    finally:
        np.random.set_state(saved)
    return {a: (points[a], intervals[a]) for a in scores}


def score_matrices(records: Sequence[RunRecord]) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """algo -> runs × envs matrix of normalized scores, and algo -> its envs.

    rliable needs the same number of runs in every env: when seeds differ between an algorithm's
    envs, each env contributes its lowest-numbered `min` seeds. Envs without a normalized score
    (NaN) are left out of the aggregate."""
    by: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for r in records:
        if math.isnan(r.normalized_score):
            continue
        by.setdefault(r.algo, {}).setdefault(r.env, []).append((r.seed, r.normalized_score))
    matrices, envs = {}, {}
    for algo, per_env in by.items():
        names = sorted(per_env)
        n = min(len(v) for v in per_env.values())
        cols = [[s for _, s in sorted(per_env[e])[:n]] for e in names]
        matrices[algo] = np.asarray(cols, dtype=float).T
        envs[algo] = names
    return matrices, envs


def aggregates(records: Sequence[RunRecord], *, reps: int = 10_000, seed: int = 0) -> list[Aggregate]:
    matrices, envs = score_matrices(records)
    if not matrices:
        return []
    est = aggregate_scores(matrices, reps=reps, seed=seed)
    out = []
    for algo in sorted(matrices):
        point, interval = est[algo]
        out.append(
            Aggregate(
                algo=algo,
                envs=envs[algo],
                runs_per_env=matrices[algo].shape[0],
                mean=float(point[0]),
                mean_ci=(float(interval[0][0]), float(interval[1][0])),
                iqm=float(point[1]),
                iqm_ci=(float(interval[0][1]), float(interval[1][1])),
            )
        )
    return out
