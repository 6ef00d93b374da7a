"""A new user's trial: demos no irlkit code wrote, on an env with no file in conf/env/.

    .venv/bin/python bench/new_env_trial.py                       # GAIL and SQIL, defaults, seed 0
    .venv/bin/python bench/new_env_trial.py --algos gail sqil airl --out /tmp/acrobot_trial

A hand-written energy-pumping controller plays gymnasium's Acrobot-v1 (Discrete actions, episodes
that terminate early at the goal, none of irlkit's experts or configs) for 30 episodes and saves
them as an SB3-era expert .npz (obs, actions, rewards, episode_starts, episode_returns); the
store's importer reads it (`python -m irlkit.demos import --format npz --env Acrobot-v1`) and
each algorithm trains with its defaults only (`env=gym env.id=Acrobot-v1`), as a user would.
Prints each run's normalized score (eval.json) and wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

REPO = Path(__file__).resolve().parent.parent


def heuristic_npz(path: Path, episodes: int) -> tuple[float, int]:
    """Torque along the links' angular velocity (θ̇1 + θ̇2 / 2): swings up in ~100 steps on most
    seeds, never on some (the demos are of uneven quality, as a person's would be)."""
    env = gym.make("Acrobot-v1")
    obs, acts, rews, starts, returns = [], [], [], [], []
    for ep in range(episodes):
        o, _ = env.reset(seed=ep)
        done, ret, first = False, 0.0, True
        while not done:
            a = 2 if (o[4] + 0.5 * o[5]) > 0 else 0
            obs.append(o)
            acts.append(a)
            starts.append(first)
            first = False
            o, r, term, trunc, _ = env.step(a)
            rews.append(r)
            ret += float(r)
            done = term or trunc
        returns.append(ret)
    np.savez(
        path,
        obs=np.asarray(obs, np.float32),
        actions=np.asarray(acts).reshape(-1, 1),
        rewards=np.asarray(rews, np.float32),
        episode_starts=np.asarray(starts),
        episode_returns=np.asarray(returns),
    )
    return float(np.mean(returns)), len(obs)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", nargs="+", default=["gail", "sqil"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--episodes", type=int, default=30, help="demo episodes of the heuristic controller")
    p.add_argument("--out", type=Path, default=Path("bench_out/new_env_trial"))
    args = p.parse_args(argv)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    npz = out / "acrobot_heuristic.npz"
    demo_return, steps = heuristic_npz(npz, args.episodes)
    print(f"heuristic demos: {args.episodes} episodes, {steps} steps, mean return {demo_return:.1f}")
    store = out / "store"
    env = dict(os.environ, IRLKIT_DEMOS=str(store))
    if not (store / "acro").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "irlkit.demos",
                "import",
                "--format",
                "npz",
                str(npz),
                "acro",
                "--env",
                "Acrobot-v1",
            ],
            check=True,
            env=env,
            cwd=REPO,
        )
    for algo in args.algos:
        run = out / f"{algo}-seed{args.seed}"
        t0 = time.time()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "irlkit",
                f"algo={algo}",
                "env=gym",
                "env.id=Acrobot-v1",
                "demos=acro",
                f"seed={args.seed}",
                "progress=false",
                f"hydra.run.dir={run}",
            ],
            check=True,
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
        result = json.loads((run / "eval.json").read_text())
        print(
            f"{algo}: normalized {result['normalized_score']:.3f} (return {result['return_mean']:.1f}, "
            f"demos {result['demo_return']:.1f}, random {result['random_return']:.1f}; learner "
            f"{result.get('learner', '-')}), {time.time() - t0:.0f} s"
        )


if __name__ == "__main__":
    main()
