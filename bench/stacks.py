"""The main job's targets on both supported stacks, side by side, as a user meets them.

For each stack's virtualenv (the current stack in `.venv`, the pinned one in `.venv-pinned`, made by
`bash scripts/install.sh [--stack pinned --venv .venv-pinned]`), each algorithm and each seed, runs
that venv's `python -m irlkit algo=<algo> seed=<s>` (default env seals CartPole, shipped demos, tuned
defaults), one command at a time, timing the whole command and reading its eval.json, as
`bench/main_job_targets.py` does for one stack. Prints one row per run, then one table with a row per
algorithm and a column group per stack.

    nice -n 19 .venv/bin/python bench/stacks.py [--algos bc gail airl] [--seeds 0 1 2] [--stacks .venv .venv-pinned]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from _runs import REPO, run_irlkit  # bench/ is on sys.path when run as a script
from main_job_targets import TARGETS


def stack_versions(python: Path) -> str:
    """`gymnasium X, SB3 Y, numpy Z, torch W` of one venv."""
    code = (
        "import gymnasium, stable_baselines3, numpy, torch, imitation; print(f'gymnasium {gymnasium.__version__}, "
        "SB3 {stable_baselines3.__version__}, imitation {imitation.__version__}, numpy {numpy.__version__}, "
        "torch {torch.__version__}')"
    )
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["bc", "gail", "airl"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--stacks", nargs="+", default=[".venv", ".venv-pinned"], help="virtualenv folders")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    pythons = {venv: REPO / venv / "bin" / "python" for venv in args.stacks}
    versions = {venv: stack_versions(py) for venv, py in pythons.items()}
    for venv, text in versions.items():
        print(f"{venv}: {text}", flush=True)
    rows: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for algo in args.algos:
            for venv, python in pythons.items():
                for seed in args.seeds:
                    run_dir = Path(tmp) / f"{venv.strip('.')}-{algo}-{seed}"
                    cmd = [
                        str(python),
                        "-m",
                        "irlkit",
                        f"algo={algo}",
                        f"seed={seed}",
                        "progress=false",
                        f"hydra.run.dir={run_dir}",
                        *args.overrides,
                    ]
                    ev, wall, cpu = run_irlkit(cmd, run_dir)
                    rows.setdefault((algo, venv), []).append((ev["normalized_score"], wall, cpu))
                    print(
                        f"{venv:13s} {algo:5s} seed {seed}: normalized {ev['normalized_score']:.3f}  return "
                        f"{ev['return_mean']:.1f}  env steps {ev['env_steps']}  train {ev['wall_s']:.1f} s  whole "
                        f"command {wall:.1f} s (CPU {cpu:.1f} s)",
                        flush=True,
                    )
    load = os.getloadavg()[0]
    print(
        f"\n(1-minute load average at the end: {load:.1f} on {os.cpu_count()} cores; CPU s = user + sys of the"
        " command, which does not grow with other jobs' load)"
    )
    head = " | ".join(f"{v}: score (mean, min) | {v}: wall s (mean, max) | {v}: CPU s (mean)" for v in args.stacks)
    print(f"| algo | seeds | {head} | target |")
    print("|---|---|" + "---|---|---|" * len(args.stacks) + "---|")
    for algo in args.algos:
        cells = []
        for venv in args.stacks:
            mine = rows[(algo, venv)]
            scores, walls, cpus = [r[0] for r in mine], [r[1] for r in mine], [r[2] for r in mine]
            cells.append(
                f"{statistics.mean(scores):.3f}, {min(scores):.3f} | {statistics.mean(walls):.1f}, "
                f"{max(walls):.1f} | {statistics.mean(cpus):.1f}"
            )
        goal = TARGETS.get(algo)
        target = f"≥ {goal[0]} in ≤ {goal[1]:.0f} s" if goal else "-"
        print(f"| {algo} | {len(args.seeds)} | {' | '.join(cells)} | {target} |")


if __name__ == "__main__":
    main()
