"""Reward transfer for every finished run of a sweep that learned a reward, then the report again.

    .venv/bin/python bench/transfer_runs.py bench_out/classic --algos airl      # after `python -m irlkit.bench suite=classic`
    .venv/bin/python bench/transfer_runs.py bench_out/classic --algos airl gail --budget 50000

Runs `python -m irlkit.transfer run=<folder>` (a fresh learner on the run's frozen learned reward,
scored on the true reward) one run folder after another, skipping folders that already hold
`transfer/transfer.json`, then rebuilds `<sweep>/report/` with `python -m irlkit.bench.report`, whose
"Reward transfer" table reads those files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sweep", type=Path, help="a benchmark folder (python -m irlkit.bench out=...)")
    p.add_argument("--algos", nargs="+", default=["airl"])
    p.add_argument("--budget", type=int, default=None, help="env steps of the fresh learner (default: the run's)")
    p.add_argument("--learner", default="auto")
    args = p.parse_args(argv)

    runs = sorted(d.parent for d in args.sweep.glob("*/eval.json"))
    for run in runs:
        result = json.loads((run / "eval.json").read_text())
        if result.get("algo") not in args.algos or (run / "transfer" / "transfer.json").exists():
            continue
        cmd = [sys.executable, "-m", "irlkit.transfer", f"run={run}", f"learner={args.learner}", "progress=false"]
        if args.budget is not None:
            cmd.append(f"budget={args.budget}")
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"transfer of {run} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        out = json.loads((run / "transfer" / "transfer.json").read_text())
        print(
            f"{run.name}: run normalized {result.get('normalized_score'):.3f}, transfer normalized "
            f"{out['normalized_score']:.3f} ({time.time() - t0:.0f} s)",
            flush=True,
        )
    subprocess.run([sys.executable, "-m", "irlkit.bench.report", str(args.sweep)], cwd=REPO, check=True)


if __name__ == "__main__":
    main()
