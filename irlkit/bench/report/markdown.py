"""report.md: the tables of a benchmark, beside imitation's published numbers where it has any."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from irlkit.bench.report.runs import RunRecord, RunStatus
from irlkit.bench.report.stats import Aggregate, mean_ci

# imitation v1.0's published benchmark (/work/shared/reference/imitation_benchmark.md, from the
# imitation docs' benchmark summary): env -> algo -> (raw mean, raw std, normalized mean, normalized std).
# seals MuJoCo v1 envs, 10 seeds, ~104 expert demos, 10M env steps for GAIL/AIRL.
PUBLISHED: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "ant": {
        "bc": (2090.6, 180.3, 0.844, 0.062),
        "dagger": (2302.5, 108.3, 0.957, 0.052),
        "gail": (2527.6, 148.0, 0.995, 0.051),
        "airl": (2485.9, 533.5, 0.981, 0.184),
    },
    "half_cheetah": {
        "bc": (1516.5, 37.5, 0.923, 0.019),
        "dagger": (1615.0, 8.3, 1.017, 0.008),
        "gail": (1595.1, 37.4, 0.963, 0.019),
        "airl": (938.5, 804.9, 0.627, 0.412),
    },
    "hopper": {
        "bc": (204.3, 0.6, 1.003, 0.002),
        "dagger": (204.8, 1.6, 1.011, 0.012),
        "gail": (187.1, 14.3, 0.935, 0.057),
        "airl": (183.8, 93.3, 0.921, 0.373),
    },
    "swimmer": {
        "bc": (276.2, 9.3, 0.935, 0.032),
        "dagger": (283.8, 6.5, 0.988, 0.024),
        "gail": (249.9, 74.3, 0.845, 0.254),
        "airl": (286.7, 7.8, 0.970, 0.027),
    },
    "walker2d": {
        "bc": (2393.3, 37.6, 0.956, 0.015),
        "dagger": (2419.7, 52.2, 1.002, 0.026),
        "gail": (2399.2, 89.9, 0.959, 0.036),
        "airl": (1154.9, 659.6, 0.461, 0.264),
    },
}
PUBLISHED_AGGREGATE: dict[str, tuple[float, float]] = {
    "bc": (0.932, 0.941),
    "dagger": (0.995, 1.004),
    "gail": (0.939, 0.957),
    "airl": (0.792, 0.918),
}
"""algo -> (aggregate mean, aggregate IQM) of normalized scores over the five envs above."""


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
ENV_ORDER = [
    "cartpole",
    "mountain_car",
    "pendulum",
    "mountain_car_continuous",
    "lunar_lander",
    "ant",
    "half_cheetah",
    "hopper",
    "swimmer",
    "walker2d",
    "cliff_world",
]


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
        md.append(
            f"- failed runs (error.txt in the folder): {len(status.failed)}: "
            + ", ".join(Path(p).name for p in status.failed)
        )
    if status.unfinished:
        md.append(
            f"- unfinished runs (no eval.json; rerun the command to redo them): {len(status.unfinished)}: "
            + ", ".join(Path(p).name for p in status.unfinished)
        )
    if status.missing:
        md.append(f"- missing runs: {len(status.missing)}: " + ", ".join(status.missing))
    if command:
        md.append(f"- command: `{command}`")
    md.append(f"- generated {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    episodes = sorted({r.episodes for r in records})
    md += [
        "",
        (
            "Normalized score = (return − random policy return) / (demonstrations' return − random return), "
            f"each run's own `eval.json` ({'/'.join(map(str, episodes))} evaluation episodes per run, on fixed seeds). "
            "Cells: mean ± half-width of the 95% Student-t confidence interval over seeds (n = seeds)."
        ),
        "",
    ]

    md += ["## Normalized score", ""] + cell_table(records, "normalized_score", algos, envs) + [""]
    for field, title, text in (
        (
            "reward_pearson",
            "Reward agreement",
            "Pearson r of each run's learned reward with the env's true reward on "
            "held-out transitions (eval.json's `reward_pearson`: AIRL's unshaped g, GAIL's −log(1 − D)).",
        ),
        (
            "transfer_score",
            "Reward transfer",
            "Normalized score of a fresh learner trained on the run's frozen learned "
            "reward alone (`python -m irlkit.transfer run=DIR`, `transfer/transfer.json`), same evaluation as above.",
        ),
    ):
        with_values = [a for a in algos if any(r.algo == a and not math.isnan(getattr(r, field)) for r in records)]
        if with_values:
            kept = [r for r in records if not math.isnan(getattr(r, field))]
            md += [f"## {title}", "", text, ""] + cell_table(kept, field, with_values, envs) + [""]
    md += ["## Return", ""] + cell_table(records, "return_mean", algos, envs)
    demo_row, rand_row = [], []
    for env in envs:
        rs = [r for r in records if r.env == env]
        demo_row.append(
            _pm(float(np.nanmean([r.demo_return for r in rs])), float("nan"), _digits([r.demo_return for r in rs]))
        )
        rand_row.append(
            _pm(float(np.nanmean([r.random_return for r in rs])), float("nan"), _digits([r.random_return for r in rs]))
        )
    md += ["| *demos* | " + " | ".join(demo_row) + " |", "| *random* | " + " | ".join(rand_row) + " |", ""]

    if aggs:
        md += [
            "## Aggregate over envs (normalized score)",
            "",
            (
                f"rliable's stratified bootstrap (resampling seeds within each env, {reps:,} resamples), 95% CIs. "
                "IQM = mean of the middle 50% of all runs' scores; it discounts the odd failed or lucky seed."
            ),
            "",
            "| algo | envs | runs per env | mean [95% CI] | IQM [95% CI] |",
            "|---|---|---|---|---|",
        ]
        for a in aggs:
            md.append(
                f"| {a.algo} | {', '.join(a.envs)} | {a.runs_per_env} | {a.mean:.2f} [{a.mean_ci[0]:.2f}, {a.mean_ci[1]:.2f}] "
                f"| {a.iqm:.2f} [{a.iqm_ci[0]:.2f}, {a.iqm_ci[1]:.2f}] |"
            )
        md.append("")

    md += [
        "## Cost",
        "",
        "Mean over seeds: training wall time (seconds, evaluation excluded), env steps the learner sampled, and "
        "env steps of the policy-selection episodes (`algo.select_policy`, outside the budget).",
        "",
        "| cell | budget | env steps | selection env steps | wall s |",
        "|---|---|---|---|---|",
    ]
    for algo in algos:
        for env in envs:
            rs = [r for r in records if r.algo == algo and r.env == env]
            if rs:
                md.append(
                    f"| {algo}-{env} | {rs[0].budget:,} {rs[0].budget_unit} | {int(np.mean([r.env_steps for r in rs])):,} "
                    f"| {int(np.mean([r.selection_env_steps for r in rs])):,} | {np.mean([r.wall_s for r in rs]):.0f} |"
                )
    md.append("")

    published_envs = [e for e in envs if e in PUBLISHED]
    if published_envs:
        md += [
            "## Beside imitation's published v1.0 numbers",
            "",
            (
                "imitation: 10 seeds, ~104 PPO expert demos, 10M env steps for GAIL/AIRL, 50 evaluation episodes "
                "(its v1.0.0 benchmark summary). Ours: this report's budgets, demos and seeds. "
                "imitation's DAgger column normalizes by a different expert return and is not comparable."
            ),
            "",
            "| env | algo | ours: return | imitation: return (mean/std) | ours: normalized | imitation: normalized |",
            "|---|---|---|---|---|---|",
        ]
        for env in published_envs:
            for algo in algos:
                rs = [r for r in records if r.algo == algo and r.env == env]
                pub = PUBLISHED[env].get(algo)
                if not rs or pub is None:
                    continue
                m, h = mean_ci([r.return_mean for r in rs])
                nm, nh = mean_ci([r.normalized_score for r in rs])
                md.append(
                    f"| {env} | {algo} | {_pm(m, h, 1)} | {pub[0]:.1f} / {pub[1]:.1f} | {_pm(nm, nh)} | {pub[2]:.3f} / {pub[3]:.3f} |"
                )
        pub_aggs = [a for a in aggs if a.algo in PUBLISHED_AGGREGATE and set(a.envs) <= set(PUBLISHED)]
        if pub_aggs:
            md += ["", "| algo | ours: mean | imitation: mean | ours: IQM | imitation: IQM |", "|---|---|---|---|---|"]
            for a in pub_aggs:
                pm, pi = PUBLISHED_AGGREGATE[a.algo]
                md.append(
                    f"| {a.algo} | {a.mean:.2f} ({len(a.envs)} env{'s' if len(a.envs) != 1 else ''}) | {pm:.3f} (5 envs) | {a.iqm:.2f} | {pi:.3f} |"
                )
        md.append("")
    else:
        md += [
            (
                "imitation publishes no numbers for these envs (its classic-control configs are untuned defaults), "
                "so there is nothing to set beside ours."
            ),
            "",
        ]

    if plots:
        md += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots] + [""]
    return "\n".join(md)
