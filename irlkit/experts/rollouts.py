"""Rolling any policy out into store episodes, and the simple policies irlkit rolls out itself.

`record_policy_episodes` rolls a policy out in a single, unwrapped-by-us gymnasium env (the same
`make_env` the recorder and evaluator use) and returns store `Episode`s with terminated and
truncated kept apart: imitation's rollout helpers merge them, which is why we do not use them here.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Optional, Protocol

import gymnasium as gym
import numpy as np

from irlkit.envs import EnvConfig, make_env
from irlkit.errors import IrlkitError
from irlkit.store import Episode, EpisodeMeta, utc_now


class Policy(Protocol):
    """Anything with SB3's `predict`: SB3 algorithms and policies, imitation's BC policy, ...."""

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[np.ndarray, Any]: ...


class RandomPolicy:
    """Uniformly random actions from the action space, seeded: a baseline and a test fixture."""

    def __init__(self, action_space: gym.Space, seed: int = 0):
        self.action_space = action_space
        self.action_space.seed(seed)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        return np.asarray(self.action_space.sample()), state


class TabularSoftPolicy:
    """The time-dependent soft-optimal policy of a seals tabular MDP, from its true reward.

    `imitation.algorithms.mce_irl.mce_partition_fh` gives pi[t, state, action] for the env's
    horizon; this acts on the env's observations (one row of its observation matrix per state),
    counting steps itself since `predict` is called once per step from the episode's start.
    """

    def __init__(self, env: gym.Env, seed: int = 0, discount: float = 1.0):
        from imitation.algorithms.mce_irl import mce_partition_fh

        self.mdp = env.unwrapped
        _, _, self.pi = mce_partition_fh(self.mdp, discount=discount)
        self.obs_matrix = np.asarray(self.mdp.observation_matrix, dtype=np.float64)
        self.rng = np.random.default_rng(seed)
        self.t = 0

    def reset(self) -> None:
        self.t = 0

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        obs = np.asarray(observation, dtype=np.float64).ravel()
        matches = np.flatnonzero(np.all(np.isclose(self.obs_matrix, obs), axis=1))
        if len(matches) == 0:
            raise IrlkitError("observation matches no state of the tabular MDP")
        probs = self.pi[min(self.t, len(self.pi) - 1), matches[0]]
        self.t += 1
        action = int(np.argmax(probs)) if deterministic else int(self.rng.choice(len(probs), p=probs / probs.sum()))
        return np.asarray(action), state


def policy_device_name(policy: Any) -> str:
    """What `EpisodeMeta.device` records for a policy: `sb3:PPO`, `random`, ...."""
    if isinstance(policy, RandomPolicy):
        return "random"
    if "stable_baselines3" in sys.modules:  # an SB3 model implies SB3 is imported; do not import torch for nothing
        from stable_baselines3.common.base_class import BaseAlgorithm

        if isinstance(policy, BaseAlgorithm):
            return f"sb3:{type(policy).__name__}"
    if isinstance(policy, TabularSoftPolicy):
        return "mce_partition_fh:soft-optimal"
    return type(policy).__name__


def evaluate_policy_return(
    env_cfg: EnvConfig, policy: Policy, n_episodes: int, *, seed: int, deterministic: bool = True
) -> tuple[float, float]:
    """Mean and std of undiscounted returns over `n_episodes` seeded episodes."""
    episodes = record_policy_episodes(
        env_cfg, policy, n_episodes, seed=seed, deterministic=deterministic, progress=False
    )
    returns = np.array([ep.episode_return for ep in episodes])
    return float(returns.mean()), float(returns.std())


def record_policy_episodes(
    env_cfg: EnvConfig,
    policy: Policy,
    n_episodes: int,
    *,
    seed: int,
    source: str = "policy",
    device: Optional[str] = None,
    deterministic: bool = True,
    progress: bool = True,
    notes: str = "",
) -> list[Episode]:
    """Roll `policy` out for `n_episodes` in one env, each episode reset with its own seed.

    Episode k is reset with seed `seed + k` (recorded in its metadata), so any episode can be
    replayed alone. Observations include the final one; terminated and truncated stay apart.
    """
    env = make_env(env_cfg)
    device = device or policy_device_name(policy)
    episodes: list[Episode] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=n_episodes,
            desc=f"rolling out {device} on {env_cfg.id}",
            unit="episode",
            file=sys.stderr,
            disable=None,
        )
    try:
        for k in range(n_episodes):
            ep_seed = seed + k
            started = utc_now()
            t0 = time.perf_counter()
            obs, _ = env.reset(seed=ep_seed)
            if hasattr(policy, "reset"):
                policy.reset()
            observations, actions, rewards = [obs], [], []
            terminated = truncated = False
            episode_start = np.ones((1,), dtype=bool)
            state = None
            while not (terminated or truncated):
                action, state = policy.predict(
                    obs, state=state, episode_start=episode_start, deterministic=deterministic
                )
                episode_start = np.zeros((1,), dtype=bool)
                action = np.asarray(action)
                if isinstance(env.action_space, gym.spaces.Discrete):
                    action = action.reshape(()).astype(np.int64)
                obs, reward, terminated, truncated, _ = env.step(action.item() if action.ndim == 0 else action)
                observations.append(obs)
                actions.append(action)
                rewards.append(float(reward))
            elapsed = time.perf_counter() - t0
            meta = EpisodeMeta(
                source=source,
                device=device,
                env_id=env_cfg.id,
                seed=ep_seed,
                started_utc=started,
                ended_utc=utc_now(),
                fps=round(len(actions) / elapsed, 1) if elapsed > 0 else None,
                notes=notes,
            )
            episodes.append(
                Episode(
                    obs=np.stack(observations),
                    acts=np.stack(actions),
                    rews=np.asarray(rewards, dtype=np.float64),
                    terminated=bool(terminated),
                    truncated=bool(truncated),
                    meta=meta,
                )
            )
            if bar is not None:
                bar.update(1)
                bar.set_postfix(ret=f"{episodes[-1].episode_return:.1f}")
    finally:
        if bar is not None:
            bar.close()
        env.close()
    return episodes
