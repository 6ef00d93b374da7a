"""IQM and mean (rliable's stratified bootstrap, as the suite report) of the policy each selection
distance keeps, per algorithm, from the caches `bench/selection_distances.py` wrote
(selection/distances-<episodes>.json) and the candidates' scores (selection/scores.json).

    .venv/bin/python bench/selection_aggregate.py RUNS_DIR [--episodes 3] [--algo gail]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from irlkit.bench.report.stats import aggregate_scores  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--algo", default="gail")
    args = parser.parse_args()
    kept: dict[str, dict[str, list[float]]] = {}  # distance -> env -> scores by seed
    for run in sorted(args.runs.iterdir(), key=lambda p: p.name):
        cache = run / "selection" / f"distances-{args.episodes}.json"
        if not run.name.startswith(args.algo + "-") or not cache.is_file():
            continue
        env = run.name[len(args.algo) + 1 : run.name.rindex("-seed")]
        scores = {int(s): v for s, v in json.loads((run / "selection" / "scores.json").read_text())["scores"].items()}
        dists = json.loads(cache.read_text())
        picks = {"last": max(scores)} | {name: int(min(d, key=d.__getitem__)) for name, d in dists.items()}
        for name, step in picks.items():
            kept.setdefault(name, {}).setdefault(env, []).append(scores[step])
    for name, per_env in kept.items():
        n = min(len(v) for v in per_env.values())
        matrix = np.asarray([per_env[e][:n] for e in sorted(per_env)], dtype=float).T
        point, interval = aggregate_scores({name: matrix})[name]
        low = int((matrix < 0.7).sum())
        cells = ", ".join(f"{e} {np.mean(per_env[e][:n]):.2f}" for e in sorted(per_env))
        print(
            f"| {name} | {matrix.size} | {point[1]:.2f} [{interval[0][1]:.2f}, {interval[1][1]:.2f}] | "
            f"{point[0]:.2f} [{interval[0][0]:.2f}, {interval[1][0]:.2f}] | {low} | {cells} |"
        )


if __name__ == "__main__":
    main()
