"""Expert policies for users without human demos, and rolling any policy out into store episodes.

`load_or_train_expert` answers "give me an expert for this env" in the cheapest way available:
1. the expert shipped with irlkit (`demos/_experts/<env name>.zip`, made by `scripts/make_demos.py`),
2. one trained earlier on this machine (`$XDG_CACHE_HOME/irlkit/experts/<env name>-seed<seed>.zip`),
3. otherwise it trains one with stable-baselines3 on hyperparameters tuned for that env (taken from
   rl-baselines3-zoo, shrunk where a smaller net converges as fast, so the shipped zips stay small),
   stops early once the expert's evaluation return reaches the env's expert level, and caches it.

`record_policy_episodes` rolls a policy out in a single, unwrapped-by-us gymnasium env (the same
`make_env` the recorder and evaluator use) and returns store `Episode`s with terminated and
truncated kept apart: imitation's rollout helpers merge them, which is why we do not use them here.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

import gymnasium as gym
import numpy as np

from irlkit.envs import EnvConfig, make_env
from irlkit.errors import IrlkitError
from irlkit.store import Episode, EpisodeMeta, shipped_demos_dir, utc_now


class Policy(Protocol):
    """Anything with SB3's `predict`: SB3 algorithms and policies, imitation's BC policy, ...."""

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]: ...


# ------------------------------------------------------------------------------------------------
# recipes
# ------------------------------------------------------------------------------------------------
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


# Tuned values from rl-baselines3-zoo (hyperparams/*.yml), keyed by the env config's `name`.
# Nets are smaller than the zoo's where that converges as fast: the shipped experts stay a few
# hundred KB and train in minutes on two CPU cores.
RECIPES: dict[str, ExpertRecipe] = {
    "cartpole": ExpertRecipe(
        algo="PPO",
        total_timesteps=200_000,
        n_envs=8,
        hyperparams=dict(
            n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
            learning_rate=_linear(1e-3), clip_range=_linear(0.2),
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
            learning_rate=1e-3, batch_size=128, buffer_size=10_000, learning_starts=1_000, gamma=0.98,
            target_update_interval=1_000, train_freq=16, gradient_steps=8, exploration_fraction=0.3,
            exploration_final_eps=0.07, policy_kwargs=dict(net_arch=[128, 128]),
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
            learning_rate=3e-4, buffer_size=50_000, batch_size=512, ent_coef=0.1, train_freq=32,
            gradient_steps=32, gamma=0.9999, tau=0.01, learning_starts=0, use_sde=True,
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
    # Small experts that train in about an hour of one CPU core (the shipped hopper and half_cheetah
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
    "discrete": ExpertRecipe(algo="PPO", total_timesteps=300_000, n_envs=8, hyperparams={}, eval_every=30_000,
                             source="SB3 PPO defaults"),
    "continuous": ExpertRecipe(algo="SAC", total_timesteps=100_000, hyperparams={}, eval_every=10_000,
                               source="SB3 SAC defaults"),
}


def recipe_for(env_cfg: EnvConfig, action_space: gym.Space) -> ExpertRecipe:
    """The tuned recipe for a known env config, else SB3 defaults for the action space's kind."""
    if env_cfg.name in RECIPES:
        return RECIPES[env_cfg.name]
    kind = "discrete" if isinstance(action_space, gym.spaces.Discrete) else "continuous"
    return _FALLBACK[kind]


# ------------------------------------------------------------------------------------------------
# where experts live
# ------------------------------------------------------------------------------------------------
def shipped_expert_path(env_name: str) -> Optional[Path]:
    shipped = shipped_demos_dir()
    if shipped is None:
        return None
    path = shipped / "_experts" / f"{env_name}.zip"
    return path if path.exists() else None


def expert_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/irlkit/experts`, defaulting to `~/.cache/irlkit/experts`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "irlkit" / "experts"


def cached_expert_path(env_name: str, seed: int) -> Path:
    return expert_cache_dir() / f"{env_name}-seed{seed}.zip"


def _algo_class(name: str):
    import stable_baselines3 as sb3

    try:
        return getattr(sb3, name)
    except AttributeError:
        raise IrlkitError(f"unknown stable-baselines3 algorithm {name!r} in an expert recipe") from None


def load_expert(path: Path, env_cfg: EnvConfig):
    """Load an SB3 zip, reading the algorithm from the zip's own metadata."""
    import zipfile

    from stable_baselines3.common.save_util import load_from_zip_file

    try:
        data, _, _ = load_from_zip_file(path, device="cpu", load_data=True)
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as err:
        raise IrlkitError(f"expert {path} cannot be read ({err}); delete it to have it trained again") from None
    algo = (data or {}).get("irlkit_algo")
    if algo is None:
        policy_class = getattr((data or {}).get("policy_class"), "__module__", "")
        algo = {"dqn": "DQN", "sac": "SAC", "td3": "TD3", "ppo": "PPO", "a2c": "A2C"}.get(
            policy_class.split(".")[-2] if "." in policy_class else "", "PPO")
    return _algo_class(algo).load(path, device="cpu")


# ------------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------------
def evaluate_policy_return(env_cfg: EnvConfig, policy: Policy, n_episodes: int, *, seed: int,
                           deterministic: bool = True) -> tuple[float, float]:
    """Mean and std of undiscounted returns over `n_episodes` seeded episodes."""
    episodes = record_policy_episodes(env_cfg, policy, n_episodes, seed=seed, deterministic=deterministic,
                                      progress=False)
    returns = np.array([ep.episode_return for ep in episodes])
    return float(returns.mean()), float(returns.std())


def train_expert(env_cfg: EnvConfig, *, seed: int = 0, progress: bool = True,
                 recipe: Optional[ExpertRecipe] = None, log: Callable[[str], None] = print):
    """Train an SB3 expert for `env_cfg` following its recipe; keeps the best evaluated weights."""
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    probe = make_env(env_cfg)
    action_space = probe.action_space
    probe.close()
    if env_cfg.tabular:
        raise IrlkitError(
            f"env {env_cfg.name!r} is a tabular MDP: its expert is the exact soft-optimal policy "
            "(irlkit.experts.tabular_soft_policy), not a trained network"
        )
    recipe = recipe or recipe_for(env_cfg, action_space)
    algo_cls = _algo_class(recipe.algo)
    venv = make_vec_env(lambda: make_env(env_cfg), n_envs=recipe.n_envs, seed=seed)
    model = algo_cls("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **recipe.hyperparams)
    log(f"irlkit.experts: training {recipe.algo} on {env_cfg.id} for up to {recipe.total_timesteps} steps "
        f"(hyperparameters: {recipe.source}; stops at mean return {recipe.target_return})")

    class _EvalAndStop(BaseCallback):
        """Evaluate every `eval_every` steps; keep the best weights; stop once expert level is met."""

        def __init__(self) -> None:
            super().__init__()
            self.next_eval = recipe.eval_every
            self.best = -np.inf
            self.best_params: Optional[dict] = None
            self.bar = None
            self.started = time.time()

        def _on_training_start(self) -> None:
            if progress:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=recipe.total_timesteps, desc=f"training {recipe.algo}", unit="step",
                                file=sys.stderr, dynamic_ncols=True, disable=None)

        def _on_step(self) -> bool:
            if self.bar is not None:
                self.bar.n = min(self.num_timesteps, recipe.total_timesteps)
                self.bar.refresh() if self.num_timesteps % 1000 < recipe.n_envs else None
            if self.num_timesteps < self.next_eval:
                return True
            self.next_eval += recipe.eval_every
            mean, std = evaluate_policy_return(env_cfg, self.model, recipe.eval_episodes, seed=10_000 + seed)
            log(f"irlkit.experts: {self.num_timesteps} steps, {time.time() - self.started:.0f} s: "
                f"evaluation return {mean:.1f} ± {std:.1f}")
            if mean > self.best:
                self.best = mean
                # get_parameters() hands out the live tensors: copy, or "best" follows training
                self.best_params = copy.deepcopy(self.model.get_parameters())
            return recipe.target_return is None or mean < recipe.target_return

        def _on_training_end(self) -> None:
            if self.bar is not None:
                self.bar.close()

    callback = _EvalAndStop()
    model.learn(total_timesteps=recipe.total_timesteps, callback=callback)
    final, _ = evaluate_policy_return(env_cfg, model, recipe.eval_episodes, seed=10_000 + seed)
    if callback.best_params is not None and callback.best > final:
        model.set_parameters(callback.best_params)
        final = callback.best
    log(f"irlkit.experts: trained {recipe.algo} on {env_cfg.id}: evaluation return {final:.1f} "
        f"after {model.num_timesteps} steps, {time.time() - callback.started:.0f} s")
    if recipe.target_return is not None and final < recipe.target_return:
        log(f"irlkit.experts: warning: the expert's return {final:.1f} is below the expert level "
            f"{recipe.target_return}; demos made from it are not expert demos")
    venv.close()
    return model


def save_expert(model, path: Path) -> None:
    """Save an SB3 model without its replay buffer, atomically (a killed save leaves no zip)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    model.irlkit_algo = type(model).__name__
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.zip")
    model.save(tmp)
    os.replace(tmp, path)


def load_or_train_expert(env_cfg: EnvConfig, *, seed: int = 0, progress: bool = True):
    """An SB3 expert for `env_cfg`: shipped, cached, or trained now (and cached).

    :param env_cfg: the env; its `name` picks the shipped expert, the cache file and the recipe.
    :param seed: seeds training; a cached expert is looked up per seed.
    :param progress: print progress and a progress bar while training.
    :return: a `stable_baselines3.common.base_class.BaseAlgorithm`.
    """
    log: Callable[[str], None] = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    shipped = shipped_expert_path(env_cfg.name)
    if shipped is not None:
        log(f"irlkit.experts: using the shipped expert {shipped}")
        return load_expert(shipped, env_cfg)
    cached = cached_expert_path(env_cfg.name, seed)
    if cached.exists():
        log(f"irlkit.experts: using the cached expert {cached}")
        return load_expert(cached, env_cfg)
    model = train_expert(env_cfg, seed=seed, progress=progress, log=log)
    save_expert(model, cached)
    log(f"irlkit.experts: cached the expert at {cached}")
    return model


# ------------------------------------------------------------------------------------------------
# other policies
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# rolling out
# ------------------------------------------------------------------------------------------------
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

        bar = tqdm(total=n_episodes, desc=f"rolling out {device} on {env_cfg.id}", unit="episode", file=sys.stderr,
                   disable=None)
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
                action, state = policy.predict(obs, state=state, episode_start=episode_start,
                                               deterministic=deterministic)
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
            episodes.append(Episode(
                obs=np.stack(observations),
                acts=np.stack(actions),
                rews=np.asarray(rewards, dtype=np.float64),
                terminated=bool(terminated),
                truncated=bool(truncated),
                meta=meta,
            ))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(ret=f"{episodes[-1].episode_return:.1f}")
    finally:
        if bar is not None:
            bar.close()
        env.close()
    return episodes
