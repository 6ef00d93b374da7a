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

import argparse
import csv
import dataclasses
import datetime as dt
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from hydra.experimental.callback import Callback as _HydraCallback

RESULT_COLUMNS = [
    "algo", "env", "seed", "return_mean", "return_std", "normalized_score", "demo_return", "random_return",
    "episodes", "env_steps", "budget", "budget_unit", "wall_s", "run_dir", "reward_pearson", "transfer_score",
]

# imitation v1.0's published benchmark (/work/shared/reference/imitation_benchmark.md, from the
# imitation docs' benchmark summary): env -> algo -> (raw mean, raw std, normalized mean, normalized std).
# seals MuJoCo v1 envs, 10 seeds, ~104 expert demos, 10M env steps for GAIL/AIRL.
PUBLISHED: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "ant": {"bc": (2090.6, 180.3, 0.844, 0.062), "dagger": (2302.5, 108.3, 0.957, 0.052),
            "gail": (2527.6, 148.0, 0.995, 0.051), "airl": (2485.9, 533.5, 0.981, 0.184)},
    "half_cheetah": {"bc": (1516.5, 37.5, 0.923, 0.019), "dagger": (1615.0, 8.3, 1.017, 0.008),
                     "gail": (1595.1, 37.4, 0.963, 0.019), "airl": (938.5, 804.9, 0.627, 0.412)},
    "hopper": {"bc": (204.3, 0.6, 1.003, 0.002), "dagger": (204.8, 1.6, 1.011, 0.012),
               "gail": (187.1, 14.3, 0.935, 0.057), "airl": (183.8, 93.3, 0.921, 0.373)},
    "swimmer": {"bc": (276.2, 9.3, 0.935, 0.032), "dagger": (283.8, 6.5, 0.988, 0.024),
                "gail": (249.9, 74.3, 0.845, 0.254), "airl": (286.7, 7.8, 0.970, 0.027)},
    "walker2d": {"bc": (2393.3, 37.6, 0.956, 0.015), "dagger": (2419.7, 52.2, 1.002, 0.026),
                 "gail": (2399.2, 89.9, 0.959, 0.036), "airl": (1154.9, 659.6, 0.461, 0.264)},
}
PUBLISHED_AGGREGATE: dict[str, tuple[float, float]] = {
    "bc": (0.932, 0.941), "dagger": (0.995, 1.004), "gail": (0.939, 0.957), "airl": (0.792, 0.918),
}
"""algo -> (aggregate mean, aggregate IQM) of normalized scores over the five envs above."""


@dataclasses.dataclass
class RunRecord:
    """One run folder, as one row of results.csv."""

    algo: str
    env: str
    seed: int
    return_mean: float
    return_std: float
    normalized_score: float
    """NaN when the demos and the random policy score the same (no scale to normalize by)."""
    demo_return: float
    random_return: float
    env_steps: int
    budget: int
    budget_unit: str
    wall_s: float
    run_dir: str
    episodes: int = 0
    """Evaluation episodes behind return_mean."""
    reward_pearson: float = float("nan")
    """Pearson r of the learned reward with the true one (algorithms that learn a reward)."""
    transfer_score: float = float("nan")
    """Normalized score of a fresh learner trained on the run's frozen reward
    (`python -m irlkit.transfer`, `transfer/transfer.json`); NaN when not measured."""

    @property
    def cell(self) -> str:
        return f"{self.algo}-{self.env}"


@dataclasses.dataclass
class RunStatus:
    """What a report found in the sweep folder besides finished runs."""

    failed: list[str] = dataclasses.field(default_factory=list)
    """Run folders holding error.txt (the training raised)."""
    unfinished: list[str] = dataclasses.field(default_factory=list)
    """Run folders without eval.json (killed or still running)."""
    missing: list[str] = dataclasses.field(default_factory=list)
    """Expected (cell, seed) with no folder at all."""


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def read_run(run_dir: Path) -> Optional[RunRecord]:
    """The run's record, or None if it has not finished (no eval.json: killed or running)."""
    path = run_dir / "eval.json"
    if not path.is_file():
        return None
    r = json.loads(path.read_text())
    transfer = run_dir / "transfer" / "transfer.json"
    transfer_score = json.loads(transfer.read_text()).get("normalized_score") if transfer.is_file() else None
    return RunRecord(
        algo=r["algo"], env=r["env"], seed=int(r["seed"]),
        return_mean=_num(r.get("return_mean")), return_std=_num(r.get("return_std")),
        normalized_score=_num(r.get("normalized_score")), demo_return=_num(r.get("demo_return")),
        random_return=_num(r.get("random_return")), env_steps=int(r.get("env_steps") or 0),
        budget=int(r.get("budget") or 0), budget_unit=str(r.get("budget_unit", "")),
        wall_s=_num(r.get("wall_s")), run_dir=str(run_dir), episodes=int(r.get("episodes") or 0),
        reward_pearson=_num(r.get("reward_pearson")), transfer_score=_num(transfer_score),
    )


def collect_runs(
    sweep_dir: Path, *, cells: Optional[Sequence[str]] = None, seeds: Optional[Sequence[int]] = None
) -> tuple[list[RunRecord], RunStatus]:
    """Every finished run under `sweep_dir` (optionally only the given cells and seeds).

    With `cells` and `seeds` the expected folders are `<cell>-seed<N>` (the bench's layout) and
    absent ones are reported missing; without them every folder holding an eval.json counts."""
    sweep_dir = Path(sweep_dir)
    status = RunStatus()
    records: list[RunRecord] = []
    if cells is not None and seeds is not None:
        folders = [sweep_dir / f"{c}-seed{s}" for c in cells for s in seeds]
    else:
        folders = sorted(p.parent for p in sweep_dir.rglob("eval.json"))
        folders += sorted(p.parent for p in sweep_dir.rglob("error.txt") if not (p.parent / "eval.json").exists())
    for folder in folders:
        if not folder.is_dir():
            status.missing.append(folder.name)
            continue
        rec = read_run(folder)
        if rec is not None:
            records.append(rec)
        elif (folder / "error.txt").is_file():
            status.failed.append(str(folder))
        else:
            status.unfinished.append(str(folder))
    records.sort(key=lambda r: (r.algo, r.env, r.seed))
    return records, status


def write_results_csv(records: Iterable[RunRecord], path: Path) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(RESULT_COLUMNS)
        for r in records:
            row = dataclasses.asdict(r)
            writer.writerow([row[c] for c in RESULT_COLUMNS])
    return path


# ------------------------------------------------------------------------------------------------
# statistics
# ------------------------------------------------------------------------------------------------
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
                scores, mean_and_iqm, reps=reps, confidence_interval_size=confidence,
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
        out.append(Aggregate(
            algo=algo, envs=envs[algo], runs_per_env=matrices[algo].shape[0],
            mean=float(point[0]), mean_ci=(float(interval[0][0]), float(interval[1][0])),
            iqm=float(point[1]), iqm_ci=(float(interval[0][1]), float(interval[1][1])),
        ))
    return out


# ------------------------------------------------------------------------------------------------
# report.md
# ------------------------------------------------------------------------------------------------
def _pm(mean: float, half: float, digits: int = 2) -> str:
    if math.isnan(mean):
        return "—"
    if math.isnan(half):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def _digits(values: Sequence[float]) -> int:
    """Enough decimals for returns of this size (CartPole 500 vs normalized 0.95)."""
    finite = [abs(v) for v in values if not math.isnan(v)]
    top = max(finite) if finite else 1.0
    return 0 if top >= 1000 else 1 if top >= 10 else 2


def _order(items: Iterable[str], preferred: Sequence[str]) -> list[str]:
    items = list(dict.fromkeys(items))
    pos = {name: i for i, name in enumerate(preferred)}
    return sorted(items, key=lambda x: (pos.get(x, len(pos)), x))


def cell_table(records: Sequence[RunRecord], field: str, algos: list[str], envs: list[str]) -> list[str]:
    """A Markdown table: algorithms × envs, mean ± 95% CI of `field` and the seed count."""
    lines = ["| algo | " + " | ".join(envs) + " |", "|---|" + "---|" * len(envs)]
    for algo in algos:
        row = []
        for env in envs:
            vals = [getattr(r, field) for r in records if r.algo == algo and r.env == env]
            if not vals:
                row.append("")
                continue
            m, h = mean_ci(vals)
            digits = 2 if field in ("normalized_score", "reward_pearson", "transfer_score") else _digits(vals)
            row.append(f"{_pm(m, h, digits)} (n={len(vals)})")
        lines.append(f"| {algo} | " + " | ".join(row) + " |")
    return lines


ALGO_ORDER = ["bc", "dagger", "gail", "airl", "sqil", "preference", "density", "mce_irl"]
ENV_ORDER = ["cartpole", "mountain_car", "pendulum", "mountain_car_continuous", "lunar_lander",
             "ant", "half_cheetah", "hopper", "swimmer", "walker2d", "cliff_world"]


def render_markdown(
    records: Sequence[RunRecord],
    status: RunStatus,
    aggs: Sequence[Aggregate],
    *,
    title: str,
    description: str = "",
    command: str = "",
    plots: Sequence[str] = (),
    reps: int = 10_000,
) -> str:
    algos = _order((r.algo for r in records), ALGO_ORDER)
    envs = _order((r.env for r in records), ENV_ORDER)
    seeds = sorted({r.seed for r in records})
    md = [f"# {title}", ""]
    if description:
        md += [description.strip(), ""]
    md.append(f"- finished runs: {len(records)} ({len(algos)} algorithms × {len(envs)} envs, seeds {seeds})")
    if status.failed:
        md.append(f"- failed runs (error.txt in the folder): {len(status.failed)}: " + ", ".join(Path(p).name for p in status.failed))
    if status.unfinished:
        md.append(f"- unfinished runs (no eval.json; rerun the command to redo them): {len(status.unfinished)}: "
                  + ", ".join(Path(p).name for p in status.unfinished))
    if status.missing:
        md.append(f"- missing runs: {len(status.missing)}: " + ", ".join(status.missing))
    if command:
        md.append(f"- command: `{command}`")
    md.append(f"- generated {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    episodes = sorted({r.episodes for r in records})
    md += ["", ("Normalized score = (return − random policy return) / (demonstrations' return − random return), "
                f"each run's own `eval.json` ({'/'.join(map(str, episodes))} evaluation episodes per run, on fixed seeds). "
                "Cells: mean ± half-width of the 95% Student-t confidence interval over seeds (n = seeds)."), ""]

    md += ["## Normalized score", ""] + cell_table(records, "normalized_score", algos, envs) + [""]
    for field, title, text in (
        ("reward_pearson", "Reward agreement", "Pearson r of each run's learned reward with the env's true reward on "
         "held-out transitions (eval.json's `reward_pearson`: AIRL's unshaped g, GAIL's −log(1 − D))."),
        ("transfer_score", "Reward transfer", "Normalized score of a fresh learner trained on the run's frozen learned "
         "reward alone (`python -m irlkit.transfer run=DIR`, `transfer/transfer.json`), same evaluation as above."),
    ):
        with_values = [a for a in algos if any(r.algo == a and not math.isnan(getattr(r, field)) for r in records)]
        if with_values:
            kept = [r for r in records if not math.isnan(getattr(r, field))]
            md += [f"## {title}", "", text, ""] + cell_table(kept, field, with_values, envs) + [""]
    md += ["## Return", ""] + cell_table(records, "return_mean", algos, envs)
    demo_row, rand_row = [], []
    for env in envs:
        rs = [r for r in records if r.env == env]
        demo_row.append(_pm(float(np.nanmean([r.demo_return for r in rs])), float("nan"), _digits([r.demo_return for r in rs])))
        rand_row.append(_pm(float(np.nanmean([r.random_return for r in rs])), float("nan"), _digits([r.random_return for r in rs])))
    md += ["| *demos* | " + " | ".join(demo_row) + " |", "| *random* | " + " | ".join(rand_row) + " |", ""]

    if aggs:
        md += ["## Aggregate over envs (normalized score)", "",
               (f"rliable's stratified bootstrap (resampling seeds within each env, {reps:,} resamples), 95% CIs. "
                "IQM = mean of the middle 50% of all runs' scores; it discounts the odd failed or lucky seed."), "",
               "| algo | envs | runs per env | mean [95% CI] | IQM [95% CI] |", "|---|---|---|---|---|"]
        for a in aggs:
            md.append(f"| {a.algo} | {', '.join(a.envs)} | {a.runs_per_env} | {a.mean:.2f} [{a.mean_ci[0]:.2f}, {a.mean_ci[1]:.2f}] "
                      f"| {a.iqm:.2f} [{a.iqm_ci[0]:.2f}, {a.iqm_ci[1]:.2f}] |")
        md.append("")

    md += ["## Cost", "", "Mean over seeds: training wall time (seconds, evaluation excluded) and env steps the learner sampled.", "",
           "| cell | budget | env steps | wall s |", "|---|---|---|---|"]
    for algo in algos:
        for env in envs:
            rs = [r for r in records if r.algo == algo and r.env == env]
            if rs:
                md.append(f"| {algo}-{env} | {rs[0].budget:,} {rs[0].budget_unit} | {int(np.mean([r.env_steps for r in rs])):,} "
                          f"| {np.mean([r.wall_s for r in rs]):.0f} |")
    md.append("")

    published_envs = [e for e in envs if e in PUBLISHED]
    if published_envs:
        md += ["## Beside imitation's published v1.0 numbers", "",
               ("imitation: 10 seeds, ~104 PPO expert demos, 10M env steps for GAIL/AIRL, 50 evaluation episodes "
                "(its v1.0.0 benchmark summary). Ours: this report's budgets, demos and seeds. "
                "imitation's DAgger column normalizes by a different expert return and is not comparable."), "",
               "| env | algo | ours: return | imitation: return (mean/std) | ours: normalized | imitation: normalized |",
               "|---|---|---|---|---|---|"]
        for env in published_envs:
            for algo in algos:
                rs = [r for r in records if r.algo == algo and r.env == env]
                pub = PUBLISHED[env].get(algo)
                if not rs or pub is None:
                    continue
                m, h = mean_ci([r.return_mean for r in rs])
                nm, nh = mean_ci([r.normalized_score for r in rs])
                md.append(f"| {env} | {algo} | {_pm(m, h, 1)} | {pub[0]:.1f} / {pub[1]:.1f} | {_pm(nm, nh)} | {pub[2]:.3f} / {pub[3]:.3f} |")
        pub_aggs = [a for a in aggs if a.algo in PUBLISHED_AGGREGATE and set(a.envs) <= set(PUBLISHED)]
        if pub_aggs:
            md += ["", "| algo | ours: mean | imitation: mean | ours: IQM | imitation: IQM |", "|---|---|---|---|---|"]
            for a in pub_aggs:
                pm, pi = PUBLISHED_AGGREGATE[a.algo]
                md.append(f"| {a.algo} | {a.mean:.2f} ({len(a.envs)} env{'s' if len(a.envs) != 1 else ''}) | {pm:.3f} (5 envs) | {a.iqm:.2f} | {pi:.3f} |")
        md.append("")
    else:
        md += [("imitation publishes no numbers for these envs (its classic-control configs are untuned defaults), "
                "so there is nothing to set beside ours."), ""]

    if plots:
        md += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots] + [""]
    return "\n".join(md)


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
    md = render_markdown(records, status, aggs, title=title, description=description, command=command,
                         plots=[str(p) for p in made], reps=reps)
    (report_dir / "report.md").write_text(md + "\n")
    return report_dir


class ReportCallback(_HydraCallback):
    """Hydra callback (conf/bench.yaml `hydra.callbacks.report`): the report once every job returned.

    Hydra calls it in the launching process, after the launcher (joblib, submitit, ray) has
    collected every job, so it sees all run folders of the sweep."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        if not config.get("report", True):
            return
        cells = list(config.suite.cells.keys())
        # a command-line `cell=a,b` narrows the sweep: report what was swept, not the whole suite
        swept = _swept_values(config, "cell")
        if swept:
            cells = [c for c in cells if c in swept]
        seeds = list(range(int(config.seeds)))
        swept_seeds = _swept_values(config, "seed")
        if swept_seeds:
            seeds = sorted(int(s) for s in swept_seeds)
        launcher = [o for o in config.hydra.overrides.hydra if o.startswith(("hydra/launcher", "hydra.launcher"))]
        command = "python -m irlkit.bench " + " ".join([*config.hydra.overrides.task, *launcher])
        path = write_report(
            Path(config.out), cells=cells, seeds=seeds, title=f"Benchmark report: suite `{config.suite.name}`",
            description=config.suite.description, command=command.strip(),
        )
        print(f"irlkit.bench: report in {path}/report.md")


def _swept_values(config: Any, key: str) -> Optional[list[str]]:
    """Values given on the command line for a sweep key (`cell=a,b`, `seed=0,3`), else None."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for ov in parser.parse_overrides(list(config.hydra.overrides.task)):
        if ov.key_or_group == key:
            return [str(v) for v in ov.sweep_iterator()] if ov.is_sweep_override() else [str(ov.value())]
    return None


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m irlkit.bench.report",
        description="Rebuild a benchmark report (results.csv, report.md, plots) from the run folders under DIR.",
    )
    parser.add_argument("sweep_dir", type=Path, help="a bench output folder, or any folder of run folders")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default DIR/report)")
    parser.add_argument("--title", default="Benchmark report")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"irlkit.bench.report: error: {args.sweep_dir} is not a folder", file=sys.stderr)
        return 2
    path = write_report(args.sweep_dir, args.out, title=args.title)
    print(f"report in {path}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
