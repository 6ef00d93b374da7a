"""Benchmark: what logging each step of an episode in progress costs (the store's journal).

A correction session logs every step as it is taken, so a kill loses no label; this must stay far
below a frame (20 ms at 50 fps). Appends N CartPole-sized steps with a corrections-style info dict,
then commits, and prints the time per step and of the commit.

    python bench/journal_append.py --steps 10000
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from gymnasium import spaces

from irlkit.store import DemoStore, Episode, EpisodeMeta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()
    obs_space = spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        ds = DemoStore(tmp).create(
            "bench", env_id="CartPole-v1", observation_space=obs_space, action_space=spaces.Discrete(2)
        )
        rng = np.random.default_rng(0)
        obs = rng.normal(size=(args.steps + 1, 4)).astype(np.float32)
        acts = rng.integers(0, 2, size=args.steps)
        infos = [
            {
                "actor": "person",
                "proposed": int(a),
                "given": int(a),
                "asked": False,
                "approved": False,
                "uncertainty": 0.01,
                "novelty": 0.1,
                "round": 0,
            }
            for a in acts
        ]
        meta = EpisodeMeta(source="correction", operator="bench")
        journal = ds.start_episode(obs[0], meta)
        t0 = time.perf_counter()
        for t in range(args.steps):
            journal.append(acts[t], 1.0, obs[t + 1], infos[t])
        per_step = (time.perf_counter() - t0) / args.steps
        t1 = time.perf_counter()
        journal.commit(Episode(obs=obs, acts=acts, rews=np.ones(args.steps), infos=infos, meta=meta))
        commit = time.perf_counter() - t1
    print(
        f"{args.steps} steps: {per_step * 1e6:.1f} µs per logged step; commit of the finished episode "
        f"{commit * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
