"""Off-policy GAIL and AIRL: Discriminator-Actor-Critic (Kostrikov et al. 2019).

The generator is an SB3 off-policy learner (SAC for Box actions, soft DQN for Discrete) on one env.
Every `round_steps` env steps the discriminator (`irlkit.algos.discriminator`) takes
`n_disc_updates_per_round` steps on demo transitions against transitions drawn from the learner's
replay buffer; the learner's every gradient batch is relabelled with the *current* discriminator's
reward (`irlkit.algos.relabel.RelabelingReplayBuffer`), never with the reward its transitions had
when they were stored. Terminated episodes, the demos' and the learner's, end in the absorbing
state. About ten times fewer env steps than on-policy GAIL in DAC's MuJoCo experiments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from irlkit.algos.base import RLTrainer, RunContext
from irlkit.algos.checkpoint import Checkpoint
from irlkit.algos.configs import AdversarialConfig
from irlkit.algos.discriminator import (
    Discriminator,
    PaddedObsRewardNet,
    generator_reward_net,
    make_discriminator_net,
    recovered_reward,
    reward_fn_of,
)
from irlkit.algos.learners import (
    check_budget,
    entropy_temperature,
    make_learner,
    policy_log_prob,
    pretrain_policy,
    save_learner,
    sb3_csv_logger,
)
from irlkit.algos.offpolicy import OffPolicyTrainer
from irlkit.algos.relabel import AbsorbingStates, DemoMixReplayBuffer, RelabelingReplayBuffer, transitions_of
from irlkit.errors import IrlkitError


def learner_config(cfg: AdversarialConfig, learner: str) -> Any:
    return cfg.sac if learner == "sac" else cfg.dqn


class DACTrainer(OffPolicyTrainer, RLTrainer):
    """GAIL (`kind="gail"`) or AIRL (`"airl"`) with an off-policy generator (`learner` sac or dqn)."""

    rl: OffPolicyAlgorithm

    def __init__(self, cfg: AdversarialConfig, ctx: RunContext, kind: str, learner: str) -> None:
        lcfg = learner_config(cfg, learner)
        check_budget(learner, lcfg, cfg.budget, algo=kind)
        if cfg.budget < cfg.round_steps:
            raise IrlkitError(
                f"algo.budget={cfg.budget} env steps ends before {kind}'s first discriminator round "
                f"(every algo.round_steps={cfg.round_steps} env steps): raise algo.budget to at least "
                f"{cfg.round_steps}, or lower algo.round_steps."
            )
        self._cfg, self._kind, self._learner = cfg, kind, learner
        self._rng = ctx.rng
        venv = self.make_venv(ctx)
        self.absorbing = AbsorbingStates(venv.observation_space, venv.action_space, lcfg.gamma)
        mix = cfg.demo_fraction > 0
        self.rl = make_learner(
            learner,
            lcfg,
            venv,
            seed=ctx.seed,
            budget=cfg.budget,
            replay_buffer_class=DemoMixReplayBuffer if mix else RelabelingReplayBuffer,
            replay_buffer_kwargs={"demo_fraction": cfg.demo_fraction} if mix else None,
            logger=sb3_csv_logger(ctx.run_dir, learner),
        )
        self._demos = transitions_of(ctx.demos, venv.action_space)
        disc_net = make_discriminator_net(cfg, kind, self.absorbing.space, venv.action_space, lcfg.gamma)
        self.generator_net = generator_reward_net(cfg, kind, disc_net)
        self.generator_net.eval()  # the discriminator switches to training for its own steps only
        log_prob = self._weighted_log_prob if kind == "airl" else None
        self.disc = Discriminator(
            kind,
            disc_net,
            self.absorbing,
            self._demos,
            lr=cfg.disc_lr,
            grad_penalty=cfg.grad_penalty,
            log_prob=log_prob,
        )
        buffer: RelabelingReplayBuffer = self.rl.replay_buffer  # type: ignore[assignment]
        buffer.reward_fn = self.absorbing.learner_reward_fn(reward_fn_of(self.generator_net))
        if isinstance(buffer, DemoMixReplayBuffer):
            buffer.set_demos(self._demos)
            buffer.demo_reward_fn = buffer.reward_fn
        pretrain_policy(self.rl, self._demos.obs, self._demos.acts, batches=cfg.bc_warmstart_batches, rng=ctx.rng)
        self.init_selection(cfg.select_policy, ctx, budget=cfg.budget, algo=kind)
        self._logger = ctx.logger
        self._rounds = 0

    def on_step(self, step: int) -> None:
        if step % self._cfg.round_steps:
            return
        buffer: RelabelingReplayBuffer = self.rl.replay_buffer  # type: ignore[assignment]
        if buffer.size() == 0:
            return
        n = self._cfg.demo_batch_size
        for _ in range(self._cfg.n_disc_updates_per_round):
            expert = self._sample_demos(n)
            generator = buffer.sample_transitions(n, recent=self._cfg.gen_replay_buffer_capacity)
            stats = self.disc.train_step(expert, generator)
        self._rounds += 1
        for key, value in stats.items():
            self._logger.record(f"disc/{key}", value)
        self._logger.record("disc/rounds", self._rounds)
        self._logger.dump(step)

    def checkpoint(self) -> Checkpoint:
        """The learner's checkpoint plus the discriminator (net, running norms, optimizer) and its rounds."""
        ckpt = super().checkpoint()
        ckpt.tensors["disc/base"] = self.disc.net.state_dict()
        ckpt.tensors["disc/net"] = self.generator_net.state_dict()  # with the reward's running norm
        ckpt.tensors["disc/optimizer"] = self.disc._opt.state_dict()
        ckpt.meta["disc_rounds"] = self._rounds
        return ckpt

    def restore(self, ckpt: Checkpoint) -> None:
        super().restore(ckpt)
        self.disc.net.load_state_dict(ckpt.tensors["disc/base"])
        self.generator_net.load_state_dict(ckpt.tensors["disc/net"])
        self.disc._opt.load_state_dict(ckpt.tensors["disc/optimizer"])
        self._rounds = int(ckpt.meta["disc_rounds"])

    def _weighted_log_prob(self, obs: np.ndarray, acts: np.ndarray) -> th.Tensor:
        """AIRL's policy term: w log pi(a|s), w = `algo.log_pi_weight` or the learner's temperature."""
        w = self._cfg.log_pi_weight
        log_pi = policy_log_prob(self.rl, obs, acts)
        if self._cfg.log_pi_floor is not None:
            log_pi = log_pi.clamp(min=self._cfg.log_pi_floor)
        return (entropy_temperature(self.rl) if w is None else w) * log_pi

    def _sample_demos(self, n: int) -> Any:
        idx = self._rng.integers(0, len(self._demos.obs), size=n)
        return type(self._demos)(*(np.asarray(x)[idx] for x in self._demos))

    @property
    def reward_net(self) -> th.nn.Module:
        return self.generator_net

    @property
    def eval_reward_net(self) -> th.nn.Module:
        return PaddedObsRewardNet(recovered_reward(self._kind, self.generator_net), self.absorbing)

    def save(self, run_dir: Path) -> dict[str, str]:
        save_learner(self.rl, run_dir / "policy.zip")
        th.save(self.generator_net.state_dict(), run_dir / "reward_net.pt")
        return {"policy": "policy.zip", "reward_net": "reward_net.pt"}

    def summary(self) -> dict[str, Any]:
        return {"learner": self._learner, "disc_rounds": self._rounds, **self.selection_summary()}


def load_recovered_reward(
    cfg: AdversarialConfig, kind: str, learner: str, observation_space: Any, action_space: Any, state: dict
) -> PaddedObsRewardNet:
    """A saved off-policy run's recovered reward on the env's own observations."""
    lcfg = learner_config(cfg, learner)
    absorbing = AbsorbingStates(observation_space, action_space, lcfg.gamma)
    net = generator_reward_net(cfg, kind, make_discriminator_net(cfg, kind, absorbing.space, action_space, lcfg.gamma))
    net.load_state_dict(state)
    return PaddedObsRewardNet(recovered_reward(kind, net), absorbing)
