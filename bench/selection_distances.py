"""Which demos-distance would pick the best saved candidate? Replays every candidate of runs trained
with `algo.select_policy.keep_candidates=true` on the selection's own start seeds and scores it with
several distances to the demos, then reports the true score (selection/scores.json, written by
`bench/selection_rules.py`) of the candidate each distance keeps.

Distances (all energy distances in demo-std units, demos only, never the env's reward):

- `pooled`: all visited states against all demo states (what `algo.select_policy` does);
- `worst episode`: the largest of the per-episode distances, so one failed episode counts;
- `transitions`: (s, s' - s) pairs against the demos' pairs, which sees how the policy moves;
- `pooled + worst`: their sum;
- `states + time`: (s, t) against the demos' (s, t), t the step within its episode (in demo-std
  units like every feature): the finite-horizon occupancy, which also sees *when* a state is
  reached, so a policy that gets to the goal late or only sometimes is further off.

    .venv/bin/python bench/selection_distances.py RUNS_DIR [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from irlkit.algos.selection import SELECT_SEED_BASE, _subsample, energy_distance, steps_in_episode  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from selection_rules import PerRun, rule_tables  # noqa: E402


def _episodes(obs: np.ndarray, dones: np.ndarray) -> list[np.ndarray]:
    ends = np.flatnonzero(dones) + 1
    return [ep for ep in np.split(obs, ends) if len(ep)]


def distances(run_dir: Path, episodes: int = 0) -> dict[str, dict[int, float]]:
    """{distance name: {candidate step: value}} of one run, on `episodes` selection episodes (0: the
    run's own number), cached in selection/distances-<episodes>.json."""
    from irlkit.algos.relabel import transitions_of
    from irlkit.envs.episodes import run_episodes
    from irlkit.policies import load_policy
    from irlkit.train import load_demos, read_config

    config = read_config(run_dir)
    episodes = episodes or config.algo.select_policy.episodes
    cache = run_dir / "selection" / f"distances-{episodes}.json"
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if "states + time" in cached:
            return {k: {int(s): v for s, v in d.items()} for k, d in cached.items()}
    dataset = load_demos(config.demos_ref, config.select, root=config.demos_root)
    demos = transitions_of(dataset)
    d_obs = np.asarray(demos.obs, dtype=np.float64).reshape(len(demos.obs), -1)
    d_next = np.asarray(demos.next_obs, dtype=np.float64).reshape(len(demos.obs), -1)
    mean, std = d_obs.mean(0), d_obs.std(0)
    scale = np.where(std > 1e-8, std, 1.0)
    delta = d_next - d_obs
    dscale = np.where(delta.std(0) > 1e-8, delta.std(0), 1.0)
    rng = np.random.default_rng(config.seed)
    demo_s = (_subsample(d_obs, rng) - mean) / scale
    pairs = np.concatenate([(d_obs - mean) / scale, delta / dscale], axis=1)
    demo_pairs = _subsample(pairs, np.random.default_rng(config.seed))
    d_time = steps_in_episode(dataset.to_transitions(terminal="done").dones).astype(np.float64)[:, None]
    tscale = max(float(d_time.std()), 1.0)  # as the selector's `with_time`
    demo_st = _subsample(
        np.concatenate([(d_obs - mean) / scale, d_time / tscale], axis=1), np.random.default_rng(config.seed)
    )
    seeds = [SELECT_SEED_BASE + 1000 * config.seed + i for i in range(episodes)]
    out: dict[str, dict[int, float]] = {"pooled": {}, "worst episode": {}, "transitions": {}, "states + time": {}}
    for cand in sorted((run_dir / "selection").glob("step-*"), key=lambda p: int(p.name.split("-")[1])):
        step = int(cand.name.split("-")[1])
        policy = load_policy(cand)
        r = run_episodes(config.env, policy, seeds)
        obs = np.asarray(r.obs, dtype=np.float64).reshape(len(r.obs), -1)
        nxt = np.asarray(r.next_obs, dtype=np.float64).reshape(len(r.obs), -1)
        sub = np.random.default_rng(config.seed + 1)
        out["pooled"][step] = energy_distance((_subsample(obs, sub) - mean) / scale, demo_s)
        out["worst episode"][step] = max(energy_distance((ep - mean) / scale, demo_s) for ep in _episodes(obs, r.dones))
        mine = np.concatenate([(obs - mean) / scale, (nxt - obs) / dscale], axis=1)
        out["transitions"][step] = energy_distance(_subsample(mine, np.random.default_rng(config.seed + 1)), demo_pairs)
        st = np.concatenate([(obs - mean) / scale, steps_in_episode(r.dones)[:, None] / tscale], axis=1)
        out["states + time"][step] = energy_distance(_subsample(st, np.random.default_rng(config.seed + 1)), demo_st)
    cache.write_text(json.dumps(out, indent=1) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, help="a benchmark output folder (one run folder per cell and seed)")
    parser.add_argument("--out", type=Path, default=None, help="write the table (markdown) here too")
    parser.add_argument("--episodes", type=int, default=0, help="selection episodes per candidate (0: the run's own)")
    parser.add_argument("--only", default="", help="only runs whose folder name contains this")
    args = parser.parse_args()
    rules: dict[str, Callable[[dict[str, dict[int, float]]], int]] = {
        "last": lambda d: max(d["pooled"]),
        "pooled": lambda d: min(d["pooled"], key=d["pooled"].__getitem__),
        "worst episode": lambda d: min(d["worst episode"], key=d["worst episode"].__getitem__),
        "transitions": lambda d: min(d["transitions"], key=d["transitions"].__getitem__),
        "pooled + worst": lambda d: min(d["pooled"], key=lambda s: d["pooled"][s] + d["worst episode"][s]),
        "states + time": lambda d: min(d["states + time"], key=d["states + time"].__getitem__),
    }
    per_run: list[PerRun] = []
    runs = sorted(p for p in args.runs.iterdir() if (p / "selection" / "scores.json").is_file() and args.only in p.name)
    for run_dir in runs:
        data = json.loads((run_dir / "selection" / "scores.json").read_text())
        scores = {int(s): v for s, v in data["scores"].items()}
        d = distances(run_dir, args.episodes)
        got = {name: (scores[step], step) for name, step in ((n, rule(d)) for n, rule in rules.items())}
        per_run.append((run_dir.name, data["cell"], max(scores.values()), got))
        print(run_dir.name, {k: f"{v:.2f}@{s // 1000}k" for k, (v, s) in got.items()}, flush=True)
    text = rule_tables(per_run, list(rules))
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
