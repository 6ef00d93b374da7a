"""DAgger (Ross et al. 2011): the learner drives, an expert labels the states it visits.

The rounds are imitation's SimpleDAggerTrainer's: round k is driven by the expert with probability
beta_k (`LinearBetaSchedule`: 1 in round 0, down to 0 after `beta_rampdown_rounds`), else by the
learner; every visited state is labelled with the expert's (deterministic) action; after each round
imitation's `BC` retrains on every label so far (and the dataset's demonstrations when
`use_demos`). Unlike imitation's trainer, which ends each round with whole episodes (a 2,000-step
budget became 4,000 on CartPole) and writes every round to disk through HF datasets, this loop
collects exactly the env steps asked and keeps the labels in memory and in checkpoints.

Who labels is the `expert` group, built above the algorithms and handed down in `RunContext.human`:
`expert=sb3` hands down an SB3 policy (shipped, cached or trained by `irlkit.experts`), asked at
every visited state here; `expert=human` hands down a `Corrector` (a person, or the scripted
stand-in, in the corrections window), and the run is HG-DAgger (`irlkit.algos.hg_dagger`).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from imitation.algorithms import bc
from imitation.algorithms.dagger import LinearBetaSchedule
from imitation.data.types import Transitions
from stable_baselines3.common.policies import BasePolicy

from irlkit.algos.base import Progress, RunContext, Trainer, mlp_policy
from irlkit.algos.checkpoint import Checkpoint
from irlkit.algos.configs import DAggerConfig


class DAggerTrainer(Trainer):
    budget_unit = "env_steps"

    def __init__(self, cfg: DAggerConfig, ctx: RunContext, expert: BasePolicy):
        self._cfg = cfg
        self._venv = ctx.venv
        self._rng = ctx.rng
        self._expert = expert
        self._bc = bc.BC(
            observation_space=ctx.observation_space,
            action_space=ctx.action_space,
            rng=ctx.rng,
            policy=mlp_policy(ctx.observation_space, ctx.action_space, cfg.net_arch),
            batch_size=cfg.batch_size,
            optimizer_kwargs={"lr": cfg.learning_rate},
            ent_weight=cfg.ent_weight,
            device="cpu",
            custom_logger=ctx.logger,
        )
        self._beta = LinearBetaSchedule(cfg.beta_rampdown_rounds)
        demos = ctx.demos.to_transitions() if cfg.use_demos else None
        self._demos = (np.asarray(demos.obs), np.asarray(demos.acts)) if demos is not None and len(demos) else None
        self._obs: list[np.ndarray] = []
        self._acts: list[np.ndarray] = []
        self._round = 0
        self._steps = 0
        self._last_obs: Optional[np.ndarray] = None

    @property
    def _n_envs(self) -> int:
        return int(self._venv.num_envs)

    def planned_budget(self, budget: int) -> int:
        return -(-budget // self._n_envs) * self._n_envs

    def rounding(self) -> str:
        return f"whole steps of the {self._n_envs} vectorized envs" if self._n_envs > 1 else ""

    def train(self, budget: int, progress: Progress) -> None:
        done = 0
        while done < budget:
            n = self._collect(min(self._cfg.round_steps, budget - done))
            self._retrain()
            self._round += 1
            done += n
            self._steps += n
            progress(n)

    def _collect(self, steps: int) -> int:
        """One round: `steps` env steps (rounded up to whole vec-env steps), every state labelled."""
        if self._last_obs is None:
            self._last_obs = self._venv.reset()
        beta = self._beta(self._round)
        per_env = -(-steps // self._n_envs)
        for _ in range(per_env):
            obs = self._last_obs
            expert_acts, _ = self._expert.predict(obs, deterministic=True)
            acts = expert_acts
            if beta < 1.0:
                learner_acts, _ = self._bc.policy.predict(obs, deterministic=False)
                use_learner = self._rng.uniform(size=self._n_envs) > beta
                mask = use_learner.reshape((-1,) + (1,) * (np.ndim(expert_acts) - 1))
                acts = np.where(mask, learner_acts, expert_acts)
            self._obs.append(np.array(obs, copy=True))
            self._acts.append(np.array(expert_acts, copy=True))
            self._last_obs, _, _, _ = self._venv.step(acts)
        return per_env * self._n_envs

    def _labels(self) -> tuple[np.ndarray, np.ndarray]:
        obs = np.concatenate(self._obs) if self._obs else np.zeros((0,) + self._venv.observation_space.shape)
        acts = np.concatenate(self._acts) if self._acts else np.zeros((0,) + self._venv.action_space.shape)
        return obs, acts

    def _retrain(self) -> None:
        obs, acts = self._labels()
        if self._demos is not None:
            obs, acts = (
                np.concatenate([self._demos[0], obs]),
                np.concatenate([self._demos[1], acts.astype(self._demos[1].dtype)]),
            )
        n = len(obs)
        # BC reads obs and acts only; next_obs and dones are required fields of Transitions.
        data = Transitions(obs=obs, acts=acts, infos=np.array([{}] * n), next_obs=obs, dones=np.zeros(n, dtype=bool))
        self._bc.set_demonstrations(data)
        self._bc.train(n_epochs=self._cfg.bc_epochs_per_round, log_interval=10**9, progress_bar=False)

    @property
    def policy(self) -> Any:
        return self._bc.policy

    @property
    def env_steps(self) -> int:
        return self._steps

    def summary(self) -> dict[str, Any]:
        return {"rounds": self._round, "labels": int(sum(len(a) for a in self._acts))}

    def checkpoint(self) -> Checkpoint:
        obs, acts = self._labels()
        return Checkpoint(
            tensors={"policy": self._bc.policy.state_dict(), "optimizer": self._bc.optimizer.state_dict()},
            arrays={"label_obs": obs, "label_acts": acts},
            meta={"round": self._round, "steps": self._steps},
        )

    def restore(self, ckpt: Checkpoint) -> None:
        self._bc.policy.load_state_dict(ckpt.tensors["policy"])
        self._bc.optimizer.load_state_dict(ckpt.tensors["optimizer"])
        self._obs, self._acts = [ckpt.arrays["label_obs"]], [ckpt.arrays["label_acts"]]
        self._round, self._steps = int(ckpt.meta["round"]), int(ckpt.meta["steps"])


def build(cfg: DAggerConfig, ctx: RunContext) -> Trainer:
    if ctx.human is None:
        raise ValueError(
            "algo=dagger needs who labels its states in RunContext.human (irlkit.train builds it from "
            "the `expert` group: an SB3 policy for expert=sb3, a Corrector for expert=human)"
        )
    if ctx.expert is not None and ctx.expert.kind == "human":
        from irlkit.algos.hg_dagger import HGDAggerTrainer

        return HGDAggerTrainer(cfg, ctx, corrector=ctx.human, settings=ctx.expert)
    return DAggerTrainer(cfg, ctx, expert=ctx.human)
