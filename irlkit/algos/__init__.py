"""Algorithms: one builder per algorithm around imitation's classes, all behind `Trainer`.

`ALGORITHMS` maps the config name users type (`algo=airl`) to its config schema and builder.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

from irlkit.algos.adversarial import AdversarialConfig, build_airl, build_gail, make_reward_net, reward_for_eval
from irlkit.algos.base import PPOConfig, RunContext, Trainer, load_policy
from irlkit.algos.bc import BCConfig
from irlkit.algos.bc import build as build_bc
from irlkit.algos.dagger import DAggerConfig
from irlkit.algos.dagger import build as build_dagger
from irlkit.algos.density import DensityConfig
from irlkit.algos.density import build as build_density
from irlkit.algos.mce_irl import MCEIRLConfig
from irlkit.algos.mce_irl import build as build_mce_irl
from irlkit.algos.preference import FeedbackConfig, PreferenceConfig
from irlkit.algos.preference import build as build_preference
from irlkit.algos.preference import load_reward as load_preference_reward


@dataclasses.dataclass(frozen=True)
class AlgorithmSpec:
    config: type
    build: Callable[[Any, RunContext], Trainer]
    learns_reward: bool
    load_eval_reward: Optional[Callable[[Any, Any, Any, dict], Any]] = None
    """(algo config, observation space, action space, saved state dict) -> the reward to score,
    for re-evaluating a saved run without retraining."""


def _adversarial_reward(kind: str) -> Callable[[Any, Any, Any, dict], Any]:
    def load(cfg: AdversarialConfig, obs_space: Any, act_space: Any, state: dict) -> Any:
        net = make_reward_net(cfg, kind, obs_space, act_space)
        net.load_state_dict(state)
        return reward_for_eval(kind, net)

    return load


ALGORITHMS: dict[str, AlgorithmSpec] = {
    "bc": AlgorithmSpec(BCConfig, build_bc, learns_reward=False),
    "dagger": AlgorithmSpec(DAggerConfig, build_dagger, learns_reward=False),
    "gail": AlgorithmSpec(AdversarialConfig, build_gail, learns_reward=True, load_eval_reward=_adversarial_reward("gail")),
    "airl": AlgorithmSpec(AdversarialConfig, build_airl, learns_reward=True, load_eval_reward=_adversarial_reward("airl")),
    "preference": AlgorithmSpec(PreferenceConfig, build_preference, learns_reward=True, load_eval_reward=load_preference_reward),
    "density": AlgorithmSpec(DensityConfig, build_density, learns_reward=True),
    "mce_irl": AlgorithmSpec(MCEIRLConfig, build_mce_irl, learns_reward=True),
}

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
    "PreferenceConfig",
    "RunContext",
    "Trainer",
    "load_policy",
]
