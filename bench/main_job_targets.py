"""The main job's targets, measured as a user meets them: whole `python -m irlkit` commands.

For each algorithm and seed, runs `python -m irlkit algo=<algo> seed=<s>` (default env and shipped
demos) in a subprocess, times the whole command (imports, training, evaluation), and reads its
eval.json. Prints one row per run and the mean per algorithm.

    .venv/bin/python bench/main_job_targets.py [--algos bc gail airl] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _runs import run_irlkit  # bench/ is on sys.path when run as a script

TARGETS = {"bc": (0.95, 10.0), "gail": (0.95, 120.0), "airl": (0.95, 120.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["bc", "gail", "airl"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for algo in args.algos:
            for seed in args.seeds:
                run_dir = Path(tmp) / f"{algo}-{seed}"
                cmd = [
                    sys.executable,
                    "-m",
                    "irlkit",
                    f"algo={algo}",
                    f"seed={seed}",
                    "progress=false",
                    f"hydra.run.dir={run_dir}",
                    *args.overrides,
                ]
                ev, wall, cpu = run_irlkit(cmd, run_dir)
                rows.append(
                    (algo, seed, ev["normalized_score"], ev["return_mean"], ev["env_steps"], ev["wall_s"], wall, cpu)
                )
                print(
                    f"{algo:5s} seed {seed}: normalized {ev['normalized_score']:.3f}  return {ev['return_mean']:.1f}  "
                    f"env steps {ev['env_steps']}  train {ev['wall_s']:.1f} s  whole command {wall:.1f} s (CPU {cpu:.1f} s)",
                    flush=True,
                )
    load = os.getloadavg()[0]
    print(
        f"\n(1-minute load average at the end: {load:.1f} on {os.cpu_count()} cores; CPU s = user + sys of the"
        " command, which does not grow with other jobs' load)"
    )
    print(
        "| algo | seeds | normalized score (mean, min) | whole command wall s (mean, max) | CPU s (mean, max) | target |"
    )
    print("|---|---|---|---|---|---|")
    for algo in args.algos:
        mine = [r for r in rows if r[0] == algo]
        scores, walls, cpus = [r[2] for r in mine], [r[6] for r in mine], [r[7] for r in mine]
        goal = TARGETS.get(algo)
        target = f"≥ {goal[0]} in ≤ {goal[1]:.0f} s" if goal else "-"
        print(
            f"| {algo} | {len(mine)} | {statistics.mean(scores):.3f}, {min(scores):.3f} | "
            f"{statistics.mean(walls):.1f}, {max(walls):.1f} | {statistics.mean(cpus):.1f}, {max(cpus):.1f} | {target} |"
        )


if __name__ == "__main__":
    main()
