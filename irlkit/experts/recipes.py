"""How irlkit trains an expert for an env: SB3 algorithm, budget, hyperparameters, expert level.

Tuned values from rl-baselines3-zoo (hyperparams/*.yml), keyed by the env config's `name`, with
nets smaller than the zoo's where that converges as fast: the shipped experts stay a few hundred KB
and train in minutes on two CPU cores. Envs with no recipe get SB3's defaults for their action
space, stopping at the env's registered `reward_threshold` when it has one.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import gymnasium as gym

from irlkit.envs import EnvConfig


def _linear(start: float) -> Callable[[float], float]:
    """rl-zoo's `lin_<x>` schedule: decays from `start` to 0 over the training budget."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * start

    return schedule


@dataclasses.dataclass(frozen=True)
class ExpertRecipe:
    """How to train an expert for one env: algorithm, budget and hyperparameters, and the return
    at which it counts as an expert (training stops early there)."""

    algo: str
    """An SB3 algorithm class name: PPO, DQN, SAC, TD3, A2C."""
    total_timesteps: int
    """Budget; training stops earlier once `target_return` is reached."""
    hyperparams: dict[str, Any]
    """Keyword arguments for the algorithm's constructor."""
    n_envs: int = 1
    target_return: Optional[float] = None
    """Mean deterministic evaluation return over `eval_episodes` that counts as expert."""
    eval_every: int = 10_000
    eval_episodes: int = 10
    source: str = ""
    """Where the hyperparameters come from."""


RECIPES: dict[str, ExpertRecipe] = {
    "cartpole": ExpertRecipe(
        algo="PPO",
        total_timesteps=200_000,
        n_envs=8,
        hyperparams=dict(
            n_steps=32,
            batch_size=256,
            gae_lambda=0.8,
            gamma=0.98,
            n_epochs=20,
            ent_coef=0.0,
            learning_rate=_linear(1e-3),
            clip_range=_linear(0.2),
            policy_kwargs=dict(net_arch=[64, 64]),
        ),
        target_return=500.0,
        eval_every=20_000,
        source="rl-baselines3-zoo ppo.yml CartPole-v1",
    ),
    "mountain_car": ExpertRecipe(
        algo="DQN",
        total_timesteps=300_000,
        hyperparams=dict(
            learning_rate=1e-3,
            batch_size=128,
            buffer_size=10_000,
            learning_starts=1_000,
            gamma=0.98,
            target_update_interval=1_000,
            train_freq=16,
            gradient_steps=8,
            exploration_fraction=0.3,
            exploration_final_eps=0.07,
            policy_kwargs=dict(net_arch=[128, 128]),
        ),
        target_return=-105.0,
        eval_every=10_000,
        eval_episodes=50,
        source="rl-baselines3-zoo dqn.yml MountainCar-v0, with net 128x128, learning rate 1e-3, "
        "exploration over 30% of training, target update every 1000 steps (steadier on seals' "
        "fixed-horizon MountainCar; the best of the evaluations every 10k steps is kept)",
    ),
    "pendulum": ExpertRecipe(
        algo="SAC",
        total_timesteps=30_000,
        hyperparams=dict(learning_rate=1e-3, policy_kwargs=dict(net_arch=[64, 64])),
        target_return=-150.0,
        eval_every=3_000,
        eval_episodes=50,
        source="rl-baselines3-zoo sac.yml Pendulum-v1 (net 64x64)",
    ),
    "mountain_car_continuous": ExpertRecipe(
        algo="SAC",
        total_timesteps=60_000,
        hyperparams=dict(
            learning_rate=3e-4,
            buffer_size=50_000,
            batch_size=512,
            ent_coef=0.1,
            train_freq=32,
            gradient_steps=32,
            gamma=0.9999,
            tau=0.01,
            learning_starts=0,
            use_sde=True,
            policy_kwargs=dict(log_std_init=-3.67, net_arch=[64, 64]),
        ),
        target_return=93.0,
        eval_every=5_000,
        source="rl-baselines3-zoo sac.yml MountainCarContinuous-v0",
    ),
    "lunar_lander": ExpertRecipe(
        algo="PPO",
        total_timesteps=1_000_000,
        n_envs=16,
        hyperparams=dict(n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999, n_epochs=4, ent_coef=0.01),
        target_return=230.0,
        eval_every=50_000,
        source="rl-baselines3-zoo ppo.yml LunarLander-v2",
    ),
    # Small experts that train in about 25 minutes of one CPU core (the shipped hopper and half_cheetah
    # ones): SAC with rl-zoo's MuJoCo settings but a 128x128 net and 200k steps instead of 1M; the
    # best of the evaluations every 20k steps is kept.
    **{
        name: ExpertRecipe(
            algo="SAC",
            total_timesteps=200_000,
            hyperparams=dict(learning_starts=10_000, policy_kwargs=dict(net_arch=[128, 128])),
            target_return=None,
            eval_every=20_000,
            eval_episodes=5,
            source="rl-baselines3-zoo sac.yml MuJoCo defaults, net 128x128, 200k steps",
        )
        for name in ("hopper", "half_cheetah")
    },
    **{
        name: ExpertRecipe(
            algo="SAC",
            total_timesteps=1_000_000,
            hyperparams=dict(learning_starts=10_000),
            target_return=None,
            eval_every=50_000,
            source="rl-baselines3-zoo sac.yml MuJoCo defaults",
        )
        for name in ("walker2d", "ant", "swimmer")
    },
}

_FALLBACK = {
    "discrete": ExpertRecipe(
        algo="PPO", total_timesteps=300_000, n_envs=8, hyperparams={}, eval_every=30_000, source="SB3 PPO defaults"
    ),
    "continuous": ExpertRecipe(
        algo="SAC", total_timesteps=100_000, hyperparams={}, eval_every=10_000, source="SB3 SAC defaults"
    ),
}


def recipe_for(env_cfg: EnvConfig, action_space: gym.Space) -> ExpertRecipe:
    """The tuned recipe for a known env config, else SB3 defaults for the action space's kind,
    stopping at the env's registered `reward_threshold` (gymnasium's "solved" return) when it has one."""
    if env_cfg.name in RECIPES:
        return RECIPES[env_cfg.name]
    from irlkit.envs import env_spec

    kind = "discrete" if isinstance(action_space, gym.spaces.Discrete) else "continuous"
    threshold = env_spec(env_cfg.id).reward_threshold
    if threshold is None:
        return _FALLBACK[kind]
    return dataclasses.replace(
        _FALLBACK[kind],
        target_return=float(threshold),
        source=f"{_FALLBACK[kind].source}, until the spec's reward_threshold",
    )
