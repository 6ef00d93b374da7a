"""The issue-11 held-out case: a Minari dataset written by Minari itself, from a hand-written
controller, and each algorithm trained on it with its defaults only.

    .venv/bin/python bench/minari_pendulum_trial.py --algos gail airl sqil --out /tmp/minari_trial

An energy-pumping swing-up controller (push along θ̇ while the pendulum's energy is below the
upright one, a PD law once it is near the top) plays gymnasium's Pendulum-v1 for 30 episodes;
Minari's `create_dataset_from_buffers` writes the dataset in `OUT/minari/`; the
store's importer reads it (`python -m irlkit.demos import --format minari`); each algorithm trains
with `env=pendulum demos=<it>` and nothing else. Prints each run's normalized score (eval.json).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runs import REPO, run_irlkit  # noqa: E402

DATASET_ID = "pendulum/heuristic-v0"


def controller(obs: np.ndarray) -> np.ndarray:
    cos, sin, dtheta = (float(x) for x in obs)
    theta = float(np.arctan2(sin, cos))
    if cos > 0.85:  # near upright: PD
        return np.array([np.clip(-(10.0 * theta + 2.0 * dtheta), -2.0, 2.0)], dtype=np.float32)
    energy = dtheta**2 / 6.0 + 5.0 * (cos - 1.0)  # (ml²/3)θ̇²/2 + mgl/2 (cos θ − 1), m = l = 1, g = 10
    push = 2.0 * np.sign(dtheta) if energy < 0 else -0.5 * np.sign(dtheta)
    return np.array([push if dtheta != 0 else 2.0], dtype=np.float32)


def write_minari(root: Path, episodes: int) -> float:
    """Play the controller and write the episodes with Minari's own `create_dataset_from_buffers`
    (its `DataCollector` needs jax, which `minari[create]` pulls in)."""
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    import minari
    from minari.data_collector import EpisodeBuffer

    env = gym.make("Pendulum-v1")
    buffers, returns = [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=ep)
        seen, acts, rews, terms, truncs = [obs], [], [], [], []
        done = False
        while not done:
            a = controller(obs)
            obs, r, term, trunc, _ = env.step(a)
            seen.append(obs)
            acts.append(a)
            rews.append(float(r))
            terms.append(term)
            truncs.append(trunc)
            done = term or trunc
        returns.append(sum(rews))
        buffers.append(
            EpisodeBuffer(
                id=ep,
                seed=ep,
                observations=np.asarray(seen, dtype=np.float32),
                actions=np.asarray(acts, dtype=np.float32),
                rewards=np.asarray(rews),
                terminations=np.asarray(terms),
                truncations=np.asarray(truncs),
            )
        )
    minari.create_dataset_from_buffers(
        dataset_id=DATASET_ID,
        buffer=buffers,
        env="Pendulum-v1",
        algorithm_name="energy-pumping swing-up heuristic",
        author="irlkit bench",
        data_format="hdf5",
    )
    env.close()
    return float(np.mean(returns))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", nargs="+", default=["gail", "airl", "sqil"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--episodes", type=int, default=30, help="demo episodes of the heuristic controller")
    p.add_argument("--out", type=Path, default=Path("bench_out/minari_pendulum_trial"))
    args = p.parse_args(argv)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    store = out / "store"
    env = dict(os.environ, IRLKIT_DEMOS=str(store))
    if not (store / "pend").exists():
        demo_return = write_minari(out / "minari", args.episodes)
        print(f"heuristic demos: {args.episodes} episodes, mean return {demo_return:.1f} (Minari {DATASET_ID})")
        cmd = [
            sys.executable,
            "-m",
            "irlkit.demos",
            "import",
            "--format",
            "minari",
            str(out / "minari" / DATASET_ID),
            "pend",
        ]
        subprocess.run(cmd, check=True, env=env, cwd=REPO)
    for algo in args.algos:
        run = out / f"{algo}-seed{args.seed}"
        cmd = [sys.executable, "-m", "irlkit", f"algo={algo}", "env=pendulum", "demos=pend", f"seed={args.seed}"]
        result, wall, _ = run_irlkit([*cmd, "progress=false", f"hydra.run.dir={run}"], run, env=env, what=f"{algo} run")
        print(
            f"{algo}: normalized {result['normalized_score']:.3f} (return {result['return_mean']:.1f}, "
            f"demos {result['demo_return']:.1f}, random {result['random_return']:.1f}; learner "
            f"{result.get('learner', '-')}; selection env steps {result.get('selection_env_steps', 0)}), "
            f"{wall:.0f} s"
        )


if __name__ == "__main__":
    main()
