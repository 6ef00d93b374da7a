"""Play a policy's episodes side by side on fixed seeds, keeping every transition.

The evaluator scores these episodes against the env's reward; training-time code that needs a
policy's own behaviour without its reward (`irlkit.algos.selection`) plays them the same way.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, cast

import numpy as np

from irlkit.envs.config import EnvConfig
from irlkit.envs.make import make_env


@dataclasses.dataclass
class Rollouts:
    returns: list[float]
    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    dones: np.ndarray
    rews: np.ndarray
    frames: list[np.ndarray]
    terminated: np.ndarray
    """Per transition: the episode ended there by termination (not a time limit or `max_steps`)."""


def run_episodes(
    env_cfg: EnvConfig,
    policy: Any,
    seeds: list[int],
    *,
    deterministic: bool = True,
    record_frames: int = 0,
    max_steps: Optional[int] = None,
) -> Rollouts:
    """Play one episode per seed; `policy` is an SB3 policy or None for uniformly random actions.
    `max_steps` cuts every episode after that many steps (its last transition then counts as done),
    so a caller can bound what the episodes cost whatever the env's time limit.

    All episodes run side by side, one env each, so the policy is asked once per step for the
    whole batch (10x fewer forward passes for 10 episodes); each env keeps its own seed, so the
    numbers are the same as playing the episodes one after another."""
    envs = [make_env(env_cfg, render_mode="rgb_array" if k < record_frames else None) for k in range(len(seeds))]
    n = len(seeds)
    returns = [0.0] * n
    per_env: list[list[tuple]] = [[] for _ in range(n)]
    frames: list[list[np.ndarray]] = [[] for _ in range(n)]
    try:
        obs = []
        for env, s in zip(envs, seeds):
            o, _ = env.reset(seed=s)
            env.action_space.seed(s)
            obs.append(o)
        obs_arr = np.asarray(obs)
        active = np.ones(n, dtype=bool)
        state, start = None, np.ones(n, dtype=bool)
        while active.any():
            if policy is None:
                actions = [env.action_space.sample() for env in envs]
            else:
                actions, state = policy.predict(obs_arr, state=state, episode_start=start, deterministic=deterministic)
                start = np.zeros(n, dtype=bool)
            for k in np.flatnonzero(active):
                next_obs, reward, terminated, truncated, _ = envs[k].step(actions[k])
                next_obs = np.array(next_obs, copy=True)  # an env may hand back the same buffer each step
                if k < record_frames:
                    frames[k].append(cast(np.ndarray, envs[k].render()))  # rgb_array mode: one frame
                done = terminated or truncated or (max_steps is not None and len(per_env[k]) + 1 >= max_steps)
                per_env[k].append(
                    (obs_arr[k].copy(), actions[k], next_obs, done, float(reward), bool(terminated))
                )  # a row view would change
                returns[k] += float(reward)
                obs_arr[k] = next_obs
                active[k] = not done
    finally:
        for env in envs:
            env.close()
    steps = [t for episode in per_env for t in episode]
    return Rollouts(
        returns=returns,
        obs=np.asarray([t[0] for t in steps]),
        acts=np.asarray([t[1] for t in steps]),
        next_obs=np.asarray([t[2] for t in steps]),
        dones=np.asarray([t[3] for t in steps], dtype=bool),
        rews=np.asarray([t[4] for t in steps], dtype=np.float64),
        frames=[f for episode in frames for f in episode],
        terminated=np.asarray([t[5] for t in steps], dtype=bool),
    )
