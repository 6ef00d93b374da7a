"""Benchmark: live reward shaping (TAMER, `feedback=shaping`) vs plain PPO, same PPO and budget.

Every run is the real command line (`python -m irlkit algo=ppo ...`), one after another:
- `ppo`: plain PPO on the env's reward.
- `shaped`: the same PPO (same hyperparameters, seed and env steps) with `feedback=<--feedback>`:
  the scripted person (`feedback.rule`) presses good/bad on env 0 through the keyboard's input path,
  an MLP H(obs, act) is fitted online on the presses, and every env's reward is env reward + weight * H.
  The default preset `shaping_pump` is "good when pushing the way the car moves" on
  MountainCarContinuous, one press every 10 steps (conf/feedback/shaping_pump.yaml).

Both are scored by `eval.json`: `eval.episodes` unseen episodes of the deterministic policy on the
env's own reward (never the shaped one), normalized between the random policy (0) and the shipped
demos (1). Reported per seed: normalized score, return, presses (good + bad), wall time of the run;
and the machine's load average before and after.

    SDL_VIDEODRIVER=dummy python bench/shaping.py --seeds 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from _runs import run_irlkit  # bench/ is on sys.path when run as a script


def command(method: str, seed: int, run_dir: Path, store: Path, args: argparse.Namespace) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "irlkit",
        "algo=ppo",
        f"env={args.env}",
        f"seed={seed}",
        f"algo.budget={args.budget}",
        f"algo.ppo.n_steps={args.n_steps}",
        f"eval.episodes={args.eval_episodes}",
        "eval.curve_points=0",
        "progress=false",
        f"hydra.run.dir={run_dir}",
        *args.ppo_overrides,
    ]
    if method == "ppo":
        return cmd
    return cmd + [
        f"feedback={args.feedback}",
        f"feedback.store_root={store}",
        f"feedback.dataset=bench_shaping_{seed}",
        *args.shaping_overrides,
    ]


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="mountain_car_continuous")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--methods", nargs="+", default=["ppo", "shaped"], choices=["ppo", "shaped"])
    parser.add_argument("--budget", type=int, default=40960, help="env steps, both methods")
    parser.add_argument("--n-steps", type=int, default=256, help="algo.ppo.n_steps, both methods")
    parser.add_argument("--feedback", default="shaping_pump", help="the feedback preset of the shaped runs")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--ppo-overrides", nargs="*", default=[], help="more overrides for both methods")
    parser.add_argument("--shaping-overrides", nargs="*", default=[], help="more overrides for the shaped runs")
    parser.add_argument("--out", type=Path, default=None, help="folder for the runs (default: a temporary one)")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="irlkit-bench-shaping-"))
    load_before = os.getloadavg()
    table: dict[str, list[dict[str, Any]]] = {m: [] for m in args.methods}
    for seed in args.seeds:
        for method in args.methods:
            run_dir = out / f"{method}-seed{seed}"
            result, wall, _ = run_irlkit(
                command(method, seed, run_dir, out / "store", args), run_dir, what=f"{method} seed {seed}"
            )
            row = {
                "seed": seed,
                "normalized": result["normalized_score"],
                "return": result["return_mean"],
                "presses": (result["feedback_good"] + result["feedback_bad"]) if method == "shaped" else None,
                "good": result.get("feedback_good"),
                "bad": result.get("feedback_bad"),
                "watched_steps": result.get("feedback_watched_steps"),
                "env_steps": result["env_steps"],
                "wall_s": round(wall, 1),
            }
            table[method].append(row)
            presses = (
                f", presses {row['presses']} ({row['good']} good, {row['bad']} bad)"
                if row["presses"] is not None
                else ""
            )
            print(
                f"{method:6s} seed {seed}: normalized {row['normalized']:.3f}, return {row['return']:.1f}"
                f"{presses}, {row['wall_s']} s",
                flush=True,
            )
    load_after = os.getloadavg()
    (out / "summary.json").write_text(
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "load_before": load_before,
                "load_after": load_after,
                "cpus": os.cpu_count(),
                "table": table,
            },
            indent=1,
        )
    )
    print(f"\nruns and summary.json in {out}")
    print(
        f"{args.env}, {args.budget} env steps, algo.ppo.n_steps={args.n_steps}, feedback={args.feedback}; "
        f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after\n"
    )
    seeds = args.seeds
    print(
        "| method | "
        + " | ".join(f"seed {s}" for s in seeds)
        + " | mean | presses per run (mean) | wall s per run (mean) |"
    )
    print("|---|" + "---|" * len(seeds) + "---|---|---|")
    for method, rows in table.items():
        cells = " | ".join(f"{r['normalized']:.3f} ({r['return']:.1f})" for r in rows)
        presses = [r["presses"] for r in rows if r["presses"] is not None]
        print(
            f"| {method} | {cells} | {mean([r['normalized'] for r in rows]):.3f} "
            f"({mean([r['return'] for r in rows]):.1f}) | {f'{mean(presses):.0f}' if presses else '-'} "
            f"| {mean([r['wall_s'] for r in rows]):.1f} |"
        )
    print("\nCells: normalized score (env return), eval.json over the env's own reward.")


if __name__ == "__main__":
    main()
