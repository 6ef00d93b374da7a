"""Build the datasets shipped in `demos/` and the experts that made them (`demos/_experts/`).

    python scripts/make_demos.py                      # the classic envs and CliffWorld (trains missing experts)
    python scripts/make_demos.py --envs pendulum      # one env
    python scripts/make_demos.py --envs hopper half_cheetah   # the MuJoCo ones (pip install 'irlkit[mujoco]')
    python scripts/make_demos.py --experts-only       # train and save experts, record nothing

For each env config it trains an SB3 expert with the recipe in `irlkit.experts.RECIPES` (unless
`demos/_experts/<name>.zip` exists; delete it to retrain), rolls it out deterministically into a
fresh `<name>_expert` dataset, and writes provenance (script, git commit, expert algorithm and its
evaluation return, seeds) into the dataset's description and every episode's metadata.
CliffWorld is a tabular MDP: its demos come from the exact soft-optimal policy
(`imitation.algorithms.mce_irl.mce_partition_fh` on the env's true reward), source `script`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from irlkit.envs import env_spec_json, load_env_config, make_env  # noqa: E402
from irlkit.experts import (  # noqa: E402
    RECIPES,
    TabularSoftPolicy,
    evaluate_policy_return,
    load_expert,
    record_policy_episodes,
    save_expert,
    train_expert,
)
from irlkit.store import DemoStore  # noqa: E402

SB3_ENVS = ("cartpole", "mountain_car", "pendulum", "mountain_car_continuous")
TABULAR_ENVS = ("cliff_world",)
MUJOCO_ENVS = ("hopper", "half_cheetah")
"""Shipped too, but not made by default: they need `pip install 'irlkit[mujoco]'` and about 25 minutes
of one CPU core each for the expert (irlkit.experts.RECIPES; 1,535 s and 1,490 s here, side by side)."""
EPISODES = {
    "cartpole": 50,
    "mountain_car": 50,
    "pendulum": 100,
    "mountain_car_continuous": 50,
    "cliff_world": 200,
    "hopper": 25,
    "half_cheetah": 25,
}
"""Episodes per shipped dataset; the MuJoCo ones (1000 steps of 12-18 float64 features each) are
kept to 25 so that `demos/` stays a few MB."""
DEMO_SEED = 100_000
"""Demo episodes are reset with seeds DEMO_SEED + k: away from the small seeds evaluations use."""


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def make_expert(name: str, experts_dir: Path, seed: int):
    cfg = load_env_config(name)
    path = experts_dir / f"{name}.zip"
    if path.exists():
        print(f"make_demos: reusing {path}", flush=True)
        return load_expert(path, cfg)
    model = train_expert(cfg, seed=seed, progress=False, log=lambda m: print(m, flush=True))
    save_expert(model, path)
    print(f"make_demos: saved {path} ({path.stat().st_size // 1024} KB)", flush=True)
    return model


def write_dataset(
    store: DemoStore, name: str, policy, *, source: str, device: str, description: str, deterministic: bool, notes: str
) -> None:
    cfg = load_env_config(name)
    episodes = record_policy_episodes(
        cfg,
        policy,
        EPISODES[name],
        seed=DEMO_SEED,
        source=source,
        device=device,
        deterministic=deterministic,
        progress=False,
        notes=notes,
    )
    returns = np.array([ep.episode_return for ep in episodes])
    ds_name = cfg.demos
    target = store.root / ds_name
    if target.exists():
        shutil.rmtree(target)
    env = make_env(cfg)
    ds = store.create(
        ds_name,
        env_id=cfg.id,
        observation_space=env.observation_space,
        action_space=env.action_space,
        env_spec=env_spec_json(env),
        description=f"{description} Mean return {returns.mean():.1f} ± {returns.std():.1f} over "
        f"{len(episodes)} episodes.",
    )
    env.close()
    ds.append_episodes(episodes)
    problems = ds.validate()
    if problems:
        raise SystemExit(f"make_demos: {ds_name} is not sound: {problems}")
    print(
        f"make_demos: wrote {ds_name}: {len(ds)} episodes, {ds.num_steps} steps, "
        f"return {returns.mean():.1f} ± {returns.std():.1f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=list(SB3_ENVS + TABULAR_ENVS))
    parser.add_argument("--root", type=Path, default=REPO / "demos")
    parser.add_argument("--seed", type=int, default=0, help="training seed of the experts")
    parser.add_argument("--experts-only", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (training is small-batch)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    store = DemoStore(args.root)
    experts_dir = args.root / "_experts"
    commit = _git_commit()
    for name in args.envs:
        cfg = load_env_config(name)
        if name in TABULAR_ENVS:
            if args.experts_only:
                continue
            env = make_env(cfg)
            policy = TabularSoftPolicy(env, seed=args.seed)
            env.close()
            write_dataset(
                store,
                name,
                policy,
                source="script",
                device="mce_partition_fh:soft-optimal",
                deterministic=False,
                notes=f"scripts/make_demos.py @ {commit}",
                description=(
                    f"Soft-optimal demonstrations on {cfg.id}: actions sampled from the time-dependent "
                    "policy imitation.algorithms.mce_irl.mce_partition_fh computes from the env's true "
                    f"reward (discount 1). Made by scripts/make_demos.py at commit {commit}."
                ),
            )
            continue
        model = make_expert(name, experts_dir, args.seed)
        if args.experts_only:
            continue
        recipe = RECIPES[name]
        mean, std = evaluate_policy_return(cfg, model, 20, seed=10_000)
        write_dataset(
            store,
            name,
            model,
            source="policy",
            device=f"sb3:{type(model).__name__}",
            deterministic=True,
            notes=f"scripts/make_demos.py @ {commit}; expert demos/_experts/{name}.zip",
            description=(
                f"Expert demonstrations on {cfg.id}: deterministic rollouts of the SB3 {recipe.algo} "
                f"expert demos/_experts/{name}.zip (hyperparameters: {recipe.source}; training seed "
                f"{args.seed}; evaluation return {mean:.1f} ± {std:.1f} over 20 episodes). Episode k is "
                f"reset with seed {DEMO_SEED}+k. Made by scripts/make_demos.py at commit {commit}."
            ),
        )


if __name__ == "__main__":
    main()
