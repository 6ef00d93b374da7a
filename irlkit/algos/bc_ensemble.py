"""HG-DAgger's learner: a BC policy, or an ensemble of them that knows when it is unsure.

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

Novelty, ThriftyDAgger's other half: members trained on the same few labels can agree, confidently
and wrongly, far from anything labelled (a falling pole the person never had to catch). Novelty is
how far the state is from the nearest labelled state, per dimension in units of the labels' own
spread: `min_i ||(obs - obs_i) / std|| / sqrt(dim)` (1.0: one standard deviation away in every
dimension). It needs no extra model and catches exactly the states the ensemble has no data for.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence, cast

import numpy as np
import torch as th
from gymnasium import spaces

from irlkit.algos.base import mlp_policy


@dataclasses.dataclass(frozen=True)
class Proposal:
    """What the learner would do in one state, and how unsure it is (None without an ensemble)."""

    action: Any
    uncertainty: Optional[float]
    novelty: Optional[float] = None
    """Distance to the nearest labelled state (see the module docstring); None when not measured."""


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

        if members < 1:
            raise ValueError(f"an ensemble needs at least one member, got {members}")
        self.observation_space, self.action_space = observation_space, action_space
        self.rng = rng
        self.batch_size = batch_size
        self.trained = False
        """False until the first `fit`: a learner that has seen no label is unsure everywhere."""
        self._labelled: Optional[np.ndarray] = None  # standardized, flattened label observations
        self._mean: Optional[np.ndarray] = None
        self._scale: Optional[np.ndarray] = None
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

    def fit(
        self,
        obs: np.ndarray,
        acts: np.ndarray,
        next_obs: np.ndarray,
        dones: np.ndarray,
        *,
        epochs: int,
        min_batches: int,
        member_min_batches: int = 0,
    ) -> None:
        """Continue training every member on the labels so far (members > 0 on a bootstrap resample).

        Members > 0 only measure doubt; `member_min_batches` trains them at least that long even when
        the driving policy (member 0) gets a few batches only: barely trained members all stay near
        their uniform start and agree, which would read as confidence."""
        from imitation.data.types import Transitions

        n = len(acts)
        if n == 0:
            return
        batches = max(min_batches, int(np.ceil(epochs * n / self.batch_size)))
        for k, trainer in enumerate(self.trainers):
            idx = np.arange(n) if k == 0 else self.rng.integers(0, n, size=n)
            n_batches = batches if k == 0 else max(batches, member_min_batches)
            infos = np.empty(len(idx), dtype=object)
            infos.fill({})
            # BC draws full batches only: with fewer labels than a batch, its loader refuses them.
            trainer.batch_size = trainer.minibatch_size = min(self.batch_size, len(idx))
            trainer.set_demonstrations(
                Transitions(obs=obs[idx], acts=acts[idx], infos=infos, next_obs=next_obs[idx], dones=dones[idx])
            )
            trainer.train(n_batches=n_batches, log_interval=10**9, progress_bar=False)
        self.trained = True
        flat = np.asarray(obs, dtype=np.float64).reshape(n, -1)
        self._mean = flat.mean(axis=0)
        spread = flat.std(axis=0)
        # A dimension the labels never vary in is measured in units of the others' typical spread.
        self._scale = np.where(spread > 1e-8, spread, max(float(np.median(spread)), 1e-3))
        self._labelled = (flat - self._mean) / self._scale

    def propose(self, obs: np.ndarray) -> Proposal:
        """The driving policy's deterministic action, and the ensemble's disagreement on `obs`."""
        action, _ = self.policy.predict(obs, deterministic=True)
        if self.members == 1:
            return Proposal(action=action, uncertainty=None)
        if not self.trained:
            # Freshly initialised members agree by accident (all near uniform): that is not confidence.
            return Proposal(action=action, uncertainty=1.0, novelty=None)
        return Proposal(action=action, uncertainty=self.disagreement(obs), novelty=self.novelty(obs))

    def novelty(self, obs: np.ndarray) -> Optional[float]:
        """Distance from `obs` to the nearest labelled state (see the module docstring)."""
        if self._labelled is None or self._mean is None or self._scale is None:
            return None
        z = (np.asarray(obs, dtype=np.float64).reshape(-1) - self._mean) / self._scale
        d2 = np.einsum("ij,ij->i", self._labelled - z, self._labelled - z)
        return float(np.sqrt(d2.min() / z.size))

    @th.no_grad()
    def disagreement(self, obs: np.ndarray) -> float:
        """How much the members disagree in `obs` (see the module docstring)."""
        if isinstance(self.action_space, spaces.Discrete):
            probs = []
            for trainer in self.trainers:
                pol = trainer.policy
                obs_t, _ = pol.obs_to_tensor(obs)
                dist = cast(th.distributions.Categorical, pol.get_distribution(obs_t).distribution)
                probs.append(dist.probs[0].cpu().numpy())
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
