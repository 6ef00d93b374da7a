"""Maximum causal entropy IRL (Ziebart et al. 2010) on a tabular MDP with known dynamics.

imitation's MCEIRL works on state indices; seals' CliffWorld emits one-hot observations (its
observation matrix is the identity), so demos and the learned policy go through `argmax`."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
from imitation.algorithms.mce_irl import MCEIRL, TabularPolicy
from imitation.data.types import Trajectory
from imitation.rewards.reward_nets import BasicRewardNet
from seals.base_envs import TabularModelPOMDP

from irlkit.algos.base import Progress, RunContext, Trainer
from irlkit.algos.checkpoint import Checkpoint
from irlkit.algos.configs import MCEIRLConfig
from irlkit.errors import IrlkitError
from irlkit.policies.tabular import OneHotTabularPolicy, save_tabular_policy


class MCEIRLTrainer(Trainer):
    budget_unit = "iterations"

    def __init__(self, cfg: MCEIRLConfig, ctx: RunContext):
        if not ctx.env_cfg.tabular:
            raise IrlkitError(
                f"algo=mce_irl needs a tabular MDP with known dynamics, but env={ctx.env_cfg.name} is not "
                "one (its config has tabular: false). Use env=cliff_world."
            )
        from irlkit.envs import make_env

        self._mdp = cast(TabularModelPOMDP, make_env(ctx.env_cfg).unwrapped)  # env.tabular: a seals tabular MDP
        trajs = [
            Trajectory(obs=np.asarray(t.obs).argmax(axis=1), acts=np.asarray(t.acts), infos=None, terminal=t.terminal)
            for t in ctx.demos.to_trajectories()
        ]
        self._reward_net = BasicRewardNet(
            self._mdp.state_space,
            self._mdp.action_space,
            hid_sizes=list(cfg.reward_net_arch),
            use_action=False,
            use_next_state=False,
            use_done=False,
        )
        self._mce = MCEIRL(
            trajs,
            self._mdp,
            self._reward_net,
            rng=ctx.rng,
            optimizer_kwargs={"lr": cfg.learning_rate},
            discount=cfg.discount,
            linf_eps=cfg.linf_eps,
            log_interval=None,
            custom_logger=ctx.logger,
        )
        self._rng = ctx.rng
        self._iterations = 0

    def train(self, budget: int, progress: Progress) -> None:
        chunk = 10
        done = 0
        while done < budget:
            n = min(chunk, budget - done)
            self._mce.train(max_iter=n)
            done += n
            self._iterations += n
            progress(n)

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            tensors={"reward_net": self._reward_net.state_dict(), "optimizer": self._mce.optimizer.state_dict()},
            arrays={"pi": np.asarray(self._mce.policy.pi)},
            meta={"iterations": self._iterations},
        )

    def restore(self, ckpt: Checkpoint) -> None:
        self._reward_net.load_state_dict(ckpt.tensors["reward_net"])
        self._mce.optimizer.load_state_dict(ckpt.tensors["optimizer"])
        cast(TabularPolicy, self._mce.policy).pi = ckpt.arrays["pi"]
        self._iterations = int(ckpt.meta["iterations"])

    @property
    def policy(self):
        pi = cast(TabularPolicy, self._mce.policy).pi
        return OneHotTabularPolicy(
            state_space=self._mdp.state_space, action_space=self._mdp.action_space, pi=pi, rng=self._rng
        )

    @property
    def reward_net(self):
        return self._reward_net

    @property
    def eval_reward_net(self):
        net = self._reward_net

        def state_reward(obs, acts, next_obs, dones):
            states = np.asarray(obs).argmax(axis=1)
            return net.predict(states, acts, np.asarray(next_obs).argmax(axis=1), dones)

        return state_reward

    def save(self, run_dir: Path) -> dict[str, str]:
        import torch as th

        policy_file = save_tabular_policy(self._mce.policy.pi, run_dir)
        th.save(self._reward_net.state_dict(), run_dir / "reward_net.pt")
        return {"policy": policy_file, "reward_net": "reward_net.pt"}


def build(cfg: MCEIRLConfig, ctx: RunContext) -> MCEIRLTrainer:
    return MCEIRLTrainer(cfg, ctx)
