"""SQIL (Reddy et al. 2020, "SQIL: Imitation Learning via Reinforcement Learning with Sparse Rewards").

Soft Q-learning where every demo transition has reward 1 and every transition of the learner's own
has reward 0, each gradient batch half demos, half replay: the learner is pulled back to the demos'
states and stays there. Soft DQN for Discrete actions, SAC for Box (the paper's two settings).

irlkit's own rather than `imitation.algorithms.sqil`, which concatenates every field of SB3's
`ReplayBufferSamples` and breaks on SB3 >= 2.7 (its new `discounts` field is None); the batches
here come from `irlkit.algos.relabel.DemoMixReplayBuffer`. Episodes that terminate end in an
absorbing state with the reward of their side (1 after a demo's last step, 0 after the learner's),
so ending an episode is neither free nor forbidden, and truncations are not terminations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from irlkit.algos.base import RLTrainer, RunContext
from irlkit.algos.configs import SQILConfig
from irlkit.algos.learners import (
    check_budget,
    make_learner,
    resolve_learner,
    save_learner,
    sb3_csv_logger,
)
from irlkit.algos.offpolicy import OffPolicyTrainer
from irlkit.algos.relabel import AbsorbingStates, DemoMixReplayBuffer, transitions_of


def _constant(value: float) -> Any:
    def reward(obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, dones: np.ndarray) -> np.ndarray:
        return np.full(len(obs), value, dtype=np.float32)

    return reward


class SQILTrainer(OffPolicyTrainer, RLTrainer):
    rl: OffPolicyAlgorithm

    def __init__(self, cfg: SQILConfig, ctx: RunContext) -> None:
        learner = resolve_learner(cfg.learner, ctx.action_space, algo="sqil", allowed=("sac", "dqn"))
        lcfg = cfg.sac if learner == "sac" else cfg.dqn
        check_budget(learner, lcfg, cfg.budget, algo="sqil")
        venv = self.make_venv(ctx)
        self.rl = make_learner(
            learner,
            lcfg,
            venv,
            seed=ctx.seed,
            budget=cfg.budget,
            replay_buffer_class=DemoMixReplayBuffer,
            replay_buffer_kwargs={"demo_fraction": cfg.demo_fraction},
            logger=sb3_csv_logger(ctx.run_dir, learner),
        )
        absorbing = AbsorbingStates(venv.observation_space, venv.action_space, lcfg.gamma)
        buffer: DemoMixReplayBuffer = self.rl.replay_buffer  # type: ignore[assignment]
        demos = transitions_of(ctx.demos, venv.action_space)
        buffer.set_demos(demos)
        buffer.reward_fn = absorbing.learner_reward_fn(_constant(0.0))
        buffer.demo_reward_fn = absorbing.learner_reward_fn(_constant(1.0))
        self._learner = learner
        self.init_selection(cfg.select_policy, ctx, budget=cfg.budget, algo="sqil")

    def save(self, run_dir: Path) -> dict[str, str]:
        save_learner(self.rl, run_dir / "policy.zip")
        return {"policy": "policy.zip"}

    def summary(self) -> dict[str, Any]:
        return {"learner": self._learner, **self.selection_summary()}


def build(cfg: SQILConfig, ctx: RunContext) -> SQILTrainer:
    return SQILTrainer(cfg, ctx)
