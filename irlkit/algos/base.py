"""One trainer protocol over imitation's algorithms, whose `train()` signatures all differ.

Every algorithm is built by a `build(cfg, ctx) -> Trainer` function from its typed config and a
`RunContext` holding what the run made once (env, vec env, demos, rng, logger). A `Trainer` is
trained with a single budget and a progress callback, and exposes the same artifacts: an SB3
policy and, when the algorithm learns one, a reward net.
"""

from __future__ import annotations

import abc
import dataclasses
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy

from irlkit.algos.checkpoint import Checkpoint, load_sb3_state, sb3_state
from irlkit.algos.configs import PPOConfig
from irlkit.envs import EnvConfig
from irlkit.policies import load_policy, save_policy_zip  # noqa: F401  (moved to irlkit.policies; re-exported)

Progress = Callable[[int], None]
"""Called with the number of budget units just completed (for the progress bar)."""


@dataclasses.dataclass
class RunContext:
    """Everything a builder needs, made once per run by `irlkit.train`."""

    env_cfg: EnvConfig
    venv: Any
    """SB3 VecEnv (imitation's make_vec_env, with RolloutInfoWrapper)."""
    demos: Any
    """irlkit.store.Dataset (possibly a selection view); None only for algorithms whose spec says
    `needs_demos=False`, run on an env with no dataset."""
    rng: np.random.Generator
    seed: int
    logger: Any
    """imitation HierarchicalLogger writing CSV and TensorBoard into the run folder."""
    run_dir: Path
    variable_horizon: bool = False
    feedback: Optional[Any] = None
    """The typed `feedback` config (irlkit.runconfig.FEEDBACK_KINDS), when the algorithm reads that group."""
    expert: Optional[Any] = None
    """The typed `expert` config (irlkit.runconfig.EXPERT_KINDS), when the algorithm reads that group."""
    human: Optional[Any] = None
    """The human side, built above the algorithms and handed down (a preference gatherer for
    `feedback=human|dataset`); algorithms never build windows, pages or people themselves."""

    @property
    def observation_space(self) -> spaces.Space:
        return self.venv.observation_space

    @property
    def action_space(self) -> spaces.Space:
        return self.venv.action_space


class Trainer(abc.ABC):
    """What every algorithm looks like from the outside.

    One budget (`train(budget)`, in `budget_unit`s), one progress callback, the same artifacts, and
    resumable state: `checkpoint()` between two calls of `progress` returns everything needed to
    continue, `restore()` puts it back into a freshly built trainer, after which `train(rest)` spends
    the rest of the budget."""

    budget_unit: str = "env_steps"
    """What `train(budget)` counts: env_steps, batches or iterations."""

    @abc.abstractmethod
    def train(self, budget: int, progress: Progress) -> None:
        """Spend `budget` more units, calling `progress(done_now)` as work completes (after a whole
        round or iteration, so the trainer is between rounds whenever progress is called)."""

    def planned_budget(self, budget: int) -> int:
        """The units `train(budget)` will really spend: `budget`, or `budget` rounded up to whole
        rounds the algorithm cannot split (printed before training starts)."""
        return budget

    def rounding(self) -> str:
        """Why `planned_budget` rounds, for the notice (e.g. "whole PPO rollouts of 2,048 env steps")."""
        return ""

    def checkpoint(self) -> Optional[Checkpoint]:
        """Everything needed to resume between two rounds, or None when this trainer cannot resume."""
        return None

    def restore(self, ckpt: Checkpoint) -> None:
        """Put a checkpoint's state back into this freshly built trainer."""
        raise NotImplementedError(f"{type(self).__name__} cannot resume from a checkpoint")

    @property
    @abc.abstractmethod
    def policy(self) -> BasePolicy:
        """The learned policy (an SB3 policy)."""

    @property
    def reward_net(self) -> Optional[th.nn.Module]:
        """The learned reward net, for algorithms that learn one."""
        return None

    @property
    def eval_reward_net(self) -> Optional[th.nn.Module]:
        """The reward to compare with the env's true reward (may differ from the trained net)."""
        return self.reward_net

    @property
    def env_steps(self) -> int:
        """Env transitions the learner itself sampled (0 for purely offline methods)."""
        return 0

    def save(self, run_dir: Path) -> dict[str, str]:
        """Write artifacts into the run folder; returns {artifact: file name} for artifacts.json."""
        files = {"policy": "policy.zip"}
        save_policy_zip(self.policy, run_dir / "policy.zip", self.sb3_algo())
        net = self.reward_net
        if net is not None:
            th.save(net.state_dict(), run_dir / "reward_net.pt")
            files["reward_net"] = "reward_net.pt"
        return files

    def summary(self) -> dict[str, Any]:
        """Facts of the training itself for eval.json beyond the common ones (e.g. labels asked)."""
        return {}

    def sb3_algo(self) -> Optional[BaseAlgorithm]:
        """The SB3 algorithm owning the policy, when there is one (saved as is)."""
        return None


class RLTrainer(Trainer):
    """An algorithm whose policy is trained by an SB3 RL learner (`self.rl`: PPO, or AIRL/GAIL's
    generator) for a budget of env steps; subclasses count what they spend in `self._steps`."""

    budget_unit = "env_steps"
    rl: BaseAlgorithm
    _steps: int = 0

    @property
    def policy(self) -> BasePolicy:
        return self.rl.policy

    @property
    def env_steps(self) -> int:
        return self._steps

    def sb3_algo(self) -> BaseAlgorithm:
        return self.rl

    def rollout_steps(self) -> int:
        """Env steps of one rollout of an on-policy learner (n_steps x envs); 1 for off-policy ones."""
        n_steps = getattr(self.rl, "n_steps", None)
        return int(n_steps) * int(self.rl.n_envs) if n_steps else 1

    def planned_budget(self, budget: int) -> int:
        per = self.rollout_steps()
        return -(-budget // per) * per

    def rounding(self) -> str:
        per = self.rollout_steps()
        return f"whole rollouts of {per:,} env steps (algo.ppo.n_steps x env.n_envs)" if per > 1 else ""

    def checkpoint(self) -> Optional[Checkpoint]:
        tensors, meta, arrays = sb3_state(self.rl, "rl")
        return Checkpoint(tensors=tensors, arrays=arrays, meta={"rl": meta, "steps": self._steps})

    def restore(self, ckpt: Checkpoint) -> None:
        load_sb3_state(self.rl, "rl", ckpt.tensors, ckpt.meta["rl"], ckpt.arrays)
        self._steps = int(ckpt.meta["steps"])


def make_ppo(cfg: PPOConfig, venv: Any, *, seed: int, logger: Any = None):
    from stable_baselines3 import PPO

    algo = PPO(
        "MlpPolicy",
        venv,
        learning_rate=cfg.learning_rate,
        n_steps=cfg.n_steps,
        batch_size=cfg.batch_size,
        n_epochs=cfg.n_epochs,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_range,
        ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm,
        normalize_advantage=cfg.normalize_advantage,
        policy_kwargs={"net_arch": list(cfg.net_arch)},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    if logger is not None:
        algo.set_logger(logger)
    return algo


def set_learning_rate(algo: BaseAlgorithm, lr: float) -> None:
    """Fix an SB3 algorithm's learning rate from now on (it reads `lr_schedule` at every update)."""
    from stable_baselines3.common.utils import get_schedule_fn

    algo.lr_schedule = get_schedule_fn(lr)


def mlp_policy(observation_space: spaces.Space, action_space: spaces.Space, net_arch: list[int]) -> ActorCriticPolicy:
    """An SB3 actor-critic MLP, the policy type every irlkit algorithm saves."""
    return ActorCriticPolicy(
        observation_space=observation_space,
        action_space=action_space,
        lr_schedule=lambda _: 0.0,  # BC and DAgger bring their own optimizer
        net_arch=list(net_arch),
    )
