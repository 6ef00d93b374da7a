"""Algorithms: one builder per algorithm around imitation's classes, all behind `Trainer`.

`ALGORITHMS` maps the config name users type (`algo=airl`) to its config schema and, by import
path, its builder: the heavy modules (torch, imitation, scikit-learn) load only for the algorithm
a run uses, so `--help` and config errors answer at once.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Optional

from irlkit.algos.configs import (
    AdversarialConfig,
    BCConfig,
    DAggerConfig,
    DensityConfig,
    DQNConfig,
    FeedbackConfig,
    MCEIRLConfig,
    PPOConfig,
    PPOTrainConfig,
    PreferenceConfig,
    SACConfig,
    SQILConfig,
)


def _resolve(path: str) -> Callable[..., Any]:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


@dataclasses.dataclass(frozen=True)
class AlgorithmSpec:
    config: type[Any]
    builder: str
    """`module:function` taking (algo config, RunContext) and returning a Trainer."""
    learns_reward: bool
    eval_reward_loader: Optional[str] = None
    """`module:function` taking (algo config, observation space, action space, saved state dict)
    and returning the reward to score, for re-evaluating a saved run without retraining."""
    human: Optional[str] = None
    """The config group that supplies this algorithm's human input (`feedback` or `expert`), if any:
    any other group given with it is refused rather than silently ignored."""
    human_kinds: tuple[str, ...] = ()
    """The kinds of that group the algorithm can use."""
    default_human: Optional[str] = None
    """The kind used when none is given (None: the algorithm runs without one)."""
    needs_demos: bool = True
    """False for algorithms that learn from other feedback (preferences, the env's reward): on an env
    with no dataset they train without one, and the run is scored by raw return (no normalization)."""

    def build(self, cfg: Any, ctx: Any) -> Any:
        return _resolve(self.builder)(cfg, ctx)

    @property
    def load_eval_reward(self) -> Optional[Callable[[Any, Any, Any, dict], Any]]:
        return _resolve(self.eval_reward_loader) if self.eval_reward_loader else None


ALGORITHMS: dict[str, AlgorithmSpec] = {
    "bc": AlgorithmSpec(BCConfig, "irlkit.algos.bc:build", learns_reward=False),
    "dagger": AlgorithmSpec(
        DAggerConfig,
        "irlkit.algos.dagger:build",
        learns_reward=False,
        human="expert",
        human_kinds=("sb3", "human"),
        default_human="sb3",
    ),
    "gail": AlgorithmSpec(
        AdversarialConfig, "irlkit.algos.adversarial:build_gail", True, "irlkit.algos.adversarial:load_gail_reward"
    ),
    "airl": AlgorithmSpec(
        AdversarialConfig, "irlkit.algos.adversarial:build_airl", True, "irlkit.algos.adversarial:load_airl_reward"
    ),
    "preference": AlgorithmSpec(
        PreferenceConfig,
        "irlkit.algos.preference:build",
        True,
        "irlkit.algos.preference:load_reward",
        human="feedback",
        human_kinds=("synthetic", "human", "dataset"),
        default_human="synthetic",
        needs_demos=False,
    ),
    "density": AlgorithmSpec(DensityConfig, "irlkit.algos.density:build", learns_reward=True),
    "mce_irl": AlgorithmSpec(MCEIRLConfig, "irlkit.algos.mce_irl:build", learns_reward=True),
    "ppo": AlgorithmSpec(
        PPOTrainConfig,
        "irlkit.algos.ppo:build",
        learns_reward=False,
        human="feedback",
        human_kinds=("shaping",),
        needs_demos=False,
    ),
    "sqil": AlgorithmSpec(SQILConfig, "irlkit.algos.sqil:build", learns_reward=False),
}


def load_policy(run_dir: Any) -> Any:
    """The policy of a finished run, whatever algorithm made it (see irlkit.algos.base)."""
    from irlkit.algos.base import load_policy as _load

    return _load(run_dir)


__all__ = [
    "ALGORITHMS",
    "AdversarialConfig",
    "AlgorithmSpec",
    "BCConfig",
    "DAggerConfig",
    "DensityConfig",
    "FeedbackConfig",
    "MCEIRLConfig",
    "PPOConfig",
    "PPOTrainConfig",
    "PreferenceConfig",
    "DQNConfig",
    "SACConfig",
    "SQILConfig",
    "load_policy",
]
