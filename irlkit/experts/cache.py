"""Experts for users without human demos: shipped, cached on this machine, or trained now.

`load_or_train_expert` answers "give me an expert for this env" in the cheapest way available:
1. the expert shipped with irlkit (`demos/_experts/<env name>.zip`, made by `scripts/make_demos.py`),
2. one trained earlier on this machine (`$XDG_CACHE_HOME/irlkit/experts/<env name>-seed<seed>.zip`),
3. otherwise it trains one with stable-baselines3 on the env's recipe (`irlkit.experts.recipes`),
   stops early once the expert's evaluation return reaches the env's expert level, and caches it.
Every zip is loaded without running code from it (`irlkit.policies`).
"""

from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from irlkit.envs import EnvConfig, make_env
from irlkit.errors import IrlkitError
from irlkit.experts.recipes import ExpertRecipe, recipe_for
from irlkit.experts.rollouts import evaluate_policy_return
from irlkit.store import shipped_demos_dir


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
    """Load an expert's SB3 zip without running code from it (`irlkit.policies.load_sb3_model`):
    the algorithm comes from the zip's JSON, the spaces from the env it will act in."""
    from irlkit.policies import load_sb3_model

    path = Path(path)
    if path.parent == expert_cache_dir():
        fix = f"delete {path} to have the expert trained again"
    elif shipped_expert_path(env_cfg.name) == path:
        fix = "restore it from irlkit's source (demos/_experts/) or reinstall irlkit"
    else:
        fix = "replace it with the file as it was saved, or delete it to have the expert trained again"

    env = make_env(env_cfg)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    return load_sb3_model(
        path, observation_space=obs_space, action_space=act_space, what=f"expert {env_cfg.name!r}", fix=fix
    )


def train_expert(
    env_cfg: EnvConfig,
    *,
    seed: int = 0,
    progress: bool = True,
    recipe: Optional[ExpertRecipe] = None,
    log: Callable[[str], None] = print,
):
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
    log(
        f"irlkit.experts: training {recipe.algo} on {env_cfg.id} for up to {recipe.total_timesteps} steps "
        f"(hyperparameters: {recipe.source}; stops at mean return {recipe.target_return})"
    )

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

                self.bar = tqdm(
                    total=recipe.total_timesteps,
                    desc=f"training {recipe.algo}",
                    unit="step",
                    file=sys.stderr,
                    dynamic_ncols=True,
                    disable=None,
                )

        def _on_step(self) -> bool:
            if self.bar is not None:
                self.bar.n = min(self.num_timesteps, recipe.total_timesteps)
                self.bar.refresh() if self.num_timesteps % 1000 < recipe.n_envs else None
            if self.num_timesteps < self.next_eval:
                return True
            self.next_eval += recipe.eval_every
            mean, std = evaluate_policy_return(env_cfg, self.model, recipe.eval_episodes, seed=10_000 + seed)
            log(
                f"irlkit.experts: {self.num_timesteps} steps, {time.time() - self.started:.0f} s: "
                f"evaluation return {mean:.1f} ± {std:.1f}"
            )
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
    log(
        f"irlkit.experts: trained {recipe.algo} on {env_cfg.id}: evaluation return {final:.1f} "
        f"after {model.num_timesteps} steps, {time.time() - callback.started:.0f} s"
    )
    if recipe.target_return is not None and final < recipe.target_return:
        log(
            f"irlkit.experts: warning: the expert's return {final:.1f} is below the expert level "
            f"{recipe.target_return}; demos made from it are not expert demos"
        )
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
    log: Callable[[str], None] = (
        (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    )
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
