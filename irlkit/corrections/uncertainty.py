"""The learner of the corrections loop: a BC policy, or an ensemble of them that knows when it is unsure.

HG-DAgger (Kelly et al. 2019) retrains one policy by behaviour cloning on every label so far. For
uncertainty-triggered querying the learner is an ensemble (EnsembleDAgger, Menda et al. 2019;
ThriftyDAgger, Hoque et al. 2021): member 0 is trained on all labels and drives; the others are
trained on bootstrap resamples of them, so where labels are few or contradictory the members
disagree, and that disagreement is the signal to hand control to the person.

Disagreement, in [0, 1]:
- discrete actions: the mean total-variation distance between each member's action distribution
  and the ensemble's mean distribution (0 when all members agree exactly);
- continuous actions: the members' mean actions' standard deviation, averaged over dimensions and
  divided by half the action range.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import numpy as np
import torch as th
from gymnasium import spaces


@dataclasses.dataclass(frozen=True)
class Proposal:
    """What the learner would do in one state, and how unsure it is (None without an ensemble)."""

    action: Any
    uncertainty: Optional[float]


class BCLearner:
    """One or more imitation BC trainers over SB3 MLP policies; member 0 is the policy that drives."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        *,
        rng: np.random.Generator,
        members: int = 1,
        net_arch: Sequence[int] = (32, 32),
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        ent_weight: float = 1e-3,
        logger: Any = None,
    ):
        from imitation.algorithms import bc

        from irlkit.algos.base import mlp_policy

        if members < 1:
            raise ValueError(f"an ensemble needs at least one member, got {members}")
        self.observation_space, self.action_space = observation_space, action_space
        self.rng = rng
        self.batch_size = batch_size
        self.trained = False
        """False until the first `fit`: a learner that has seen no label is unsure everywhere."""
        self.trainers = [
            bc.BC(
                observation_space=observation_space,
                action_space=action_space,
                rng=rng,
                policy=mlp_policy(observation_space, action_space, list(net_arch)),
                batch_size=batch_size,
                optimizer_kwargs={"lr": learning_rate},
                ent_weight=ent_weight,
                device="cpu",
                custom_logger=logger,
            )
            for _ in range(members)
        ]

    @property
    def policy(self) -> Any:
        """The driving policy (an SB3 ActorCriticPolicy)."""
        return self.trainers[0].policy

    @property
    def members(self) -> int:
        return len(self.trainers)

    def fit(self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, dones: np.ndarray, *, epochs: int,
            min_batches: int) -> None:
        """Continue training every member on the labels so far (members > 0 on a bootstrap resample)."""
        from imitation.data.types import Transitions

        n = len(acts)
        if n == 0:
            return
        batches = max(min_batches, int(np.ceil(epochs * n / self.batch_size)))
        for k, trainer in enumerate(self.trainers):
            idx = np.arange(n) if k == 0 else self.rng.integers(0, n, size=n)
            infos = np.empty(len(idx), dtype=object)
            infos.fill({})
            # BC draws full batches only: with fewer labels than a batch, its loader refuses them.
            trainer.batch_size = trainer.minibatch_size = min(self.batch_size, len(idx))
            trainer.set_demonstrations(
                Transitions(obs=obs[idx], acts=acts[idx], infos=infos, next_obs=next_obs[idx], dones=dones[idx])
            )
            trainer.train(n_batches=batches, log_interval=10**9, progress_bar=False)
        self.trained = True

    def propose(self, obs: np.ndarray) -> Proposal:
        """The driving policy's deterministic action, and the ensemble's disagreement on `obs`."""
        action, _ = self.policy.predict(obs, deterministic=True)
        if self.members == 1:
            return Proposal(action=action, uncertainty=None)
        if not self.trained:
            # Freshly initialised members agree by accident (all near uniform): that is not confidence.
            return Proposal(action=action, uncertainty=1.0)
        return Proposal(action=action, uncertainty=self.disagreement(obs))

    @th.no_grad()
    def disagreement(self, obs: np.ndarray) -> float:
        """How much the members disagree in `obs` (see the module docstring)."""
        if isinstance(self.action_space, spaces.Discrete):
            probs = []
            for trainer in self.trainers:
                pol = trainer.policy
                obs_t, _ = pol.obs_to_tensor(obs)
                probs.append(pol.get_distribution(obs_t).distribution.probs[0].cpu().numpy())
            p = np.stack(probs)
            mean = p.mean(axis=0)
            return float(np.mean(0.5 * np.abs(p - mean).sum(axis=1)))
        assert isinstance(self.action_space, spaces.Box)
        acts = np.stack([t.policy.predict(obs, deterministic=True)[0] for t in self.trainers]).astype(np.float64)
        half_range = np.where(
            np.isfinite(self.action_space.high - self.action_space.low),
            (self.action_space.high - self.action_space.low) / 2.0,
            1.0,
        )
        return float(np.mean(acts.std(axis=0) / half_range))
