"""Simulated teachers for preference learning (B-Pref: Lee et al. 2021, "B-Pref: Benchmarking
Preference-Based Reinforcement Learning").

A person is not a perfect judge of two clips: B-Pref models six kinds of teacher by five numbers,
and a method worth using with people should survive all of them.

- `beta` (stochastic): the first fragment is preferred with probability
  sigmoid(beta * (R1 - R2)); infinite beta is a perfectly rational teacher.
- `gamma` (myopic): returns are discounted *backwards*, step t of an L-step fragment weighs
  gamma^(L-1-t), so the end of a clip counts most (what the person remembers).
- `epsilon` (mistake): each answer is flipped with probability epsilon.
- `skip`: when both fragments are bad (the better return lies in the bottom `skip` share of the
  returns seen so far) the teacher says nothing; such pairs are asked but never trained on.
- `equal`: when the two returns differ by less than `equal` of that range, the answer is "equally
  good" (a 0.5 label).

B-Pref's thresholds are fractions of the agent's mean return per segment, which works for the
DeepMind Control rewards (in [0, 1] per step) it was written for but not for envs whose rewards
are negative (Pendulum, MountainCar). Here every threshold is a fraction of the *range of fragment
returns the teacher has seen so far*, and beta is in units of the per-step reward range (that
range divided by the fragment length), so one setting means the same teacher on every env, as
`feedback.noise` did before (imitation issue #821) and as beta = 1 means on B-Pref's DMC tasks.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional, Sequence

import numpy as np
from imitation.algorithms import preference_comparisons as pc
from imitation.data.types import TrajectoryWithRewPair

from irlkit.errors import IrlkitError


@dataclasses.dataclass(frozen=True)
class TeacherParams:
    """B-Pref's five numbers (see the module docstring for what each does)."""

    beta: float = math.inf
    gamma: float = 1.0
    epsilon: float = 0.0
    skip: float = 0.0
    equal: float = 0.0

    def check(self) -> "TeacherParams":
        bad = []
        if not self.beta > 0:
            bad.append(f"feedback.beta={self.beta} must be > 0 (inf: a perfectly rational teacher)")
        if not 0 < self.gamma <= 1:
            bad.append(f"feedback.gamma={self.gamma} must lie in (0, 1] (1: not myopic)")
        for name in ("epsilon", "skip", "equal"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                bad.append(f"feedback.{name}={value} must lie in [0, 1)")
        if bad:
            raise IrlkitError("the simulated teacher's parameters are out of range: " + "; ".join(bad) + ".")
        return self


TEACHERS: dict[str, TeacherParams] = {
    "oracle": TeacherParams(),
    "stochastic": TeacherParams(beta=1.0),
    "myopic": TeacherParams(gamma=0.9),
    "mistake": TeacherParams(epsilon=0.1),
    "skip": TeacherParams(skip=0.1),
    "equal": TeacherParams(equal=0.1),
}
"""B-Pref's six teachers (its Table 1 values): each changes one number of the oracle."""


def teacher_params(teacher: str, **overrides: Optional[float]) -> TeacherParams:
    """The named teacher's parameters with the given ones (not None) replacing its own."""
    if teacher not in TEACHERS:
        raise IrlkitError(
            f"feedback.teacher={teacher!r} is not a simulated teacher; choose one of {', '.join(TEACHERS)} "
            "(B-Pref's six), and change single parameters with feedback.beta/gamma/epsilon/skip/equal."
        )
    given = {k: float(v) for k, v in overrides.items() if v is not None}
    return dataclasses.replace(TEACHERS[teacher], **given).check()


class SimulatedTeacher(pc.PreferenceGatherer):
    """Answers preference queries from the env's true reward the way a B-Pref teacher would.

    Returns, per pair, 1.0 (first better), 0.0 (second better), 0.5 (equally good) or NaN
    (skipped: the pair was asked, and is never trained on). The return range the thresholds are
    fractions of grows with every batch (the smallest and largest fragment return seen so far)."""

    def __init__(self, params: TeacherParams, *, rng: np.random.Generator, logger: Any = None):
        super().__init__(rng=rng, custom_logger=logger)
        self.params = params.check()
        self.rng = rng
        self.low = math.inf
        self.high = -math.inf
        self.asked = 0
        self.skipped = 0
        self.equal = 0
        self.flipped = 0

    @property
    def spread(self) -> float:
        """The range of fragment returns seen so far (0 before any, or when all were equal)."""
        return max(0.0, self.high - self.low) if math.isfinite(self.low) else 0.0

    def __call__(self, fragment_pairs: Sequence[TrajectoryWithRewPair]) -> np.ndarray:
        if not fragment_pairs:
            return np.zeros(0, dtype=np.float32)
        rews1 = np.stack([np.asarray(a.rews, dtype=np.float64) for a, _ in fragment_pairs])
        rews2 = np.stack([np.asarray(b.rews, dtype=np.float64) for _, b in fragment_pairs])
        if rews1.shape != rews2.shape:
            raise ValueError(f"fragments of a pair must have the same length, got {rews1.shape} and {rews2.shape}")
        return self.label(rews1, rews2)

    def label(self, rews1: np.ndarray, rews2: np.ndarray) -> np.ndarray:
        """Labels for pairs given their per-step true rewards, arrays of shape (pairs, steps)."""
        p = self.params
        n, length = rews1.shape
        ret1, ret2 = rews1.sum(axis=1), rews2.sum(axis=1)
        self.low = min(self.low, float(ret1.min()), float(ret2.min()))
        self.high = max(self.high, float(ret1.max()), float(ret2.max()))
        spread = self.spread

        skipped = np.maximum(ret1, ret2) < self.low + p.skip * spread if p.skip > 0 else np.zeros(n, bool)
        equal = np.abs(ret1 - ret2) < p.equal * spread if p.equal > 0 else np.zeros(n, bool)

        weights = p.gamma ** np.arange(length - 1, -1, -1, dtype=np.float64)  # the last step weighs 1
        diff = (rews1 - rews2) @ weights
        if math.isinf(p.beta):
            labels = np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, 0.5))
        else:
            unit = spread / length if spread > 0 else 1.0  # per-step reward range
            prob_first = 1.0 / (1.0 + np.exp(-np.clip(p.beta * diff / unit, -50.0, 50.0)))
            labels = self.rng.binomial(1, prob_first).astype(np.float64)
        flip = self.rng.random(n) < p.epsilon if p.epsilon > 0 else np.zeros(n, bool)
        labels[flip] = 1.0 - labels[flip]
        labels[equal] = 0.5
        labels[skipped] = np.nan

        self.asked += n
        self.skipped += int(skipped.sum())
        self.equal += int((equal & ~skipped).sum())
        self.flipped += int((flip & ~equal & ~skipped).sum())
        self.logger.record("teacher/return_spread", spread)
        self.logger.record("teacher/skipped", int(skipped.sum()))
        self.logger.record("teacher/equal", int((equal & ~skipped).sum()))
        return labels.astype(np.float32)


def make_teacher(feedback: Any, fragment_length: int, rng: np.random.Generator, logger: Any = None) -> SimulatedTeacher:
    """The `feedback=synthetic` annotator from its config (`irlkit.algos.configs.FeedbackConfig`)."""
    teacher = str(feedback.teacher)
    beta = feedback.beta
    noise = feedback.noise
    if noise is not None:
        # The older spelling: a Boltzmann temperature of `noise` times the spread of fragment
        # returns, i.e. beta = 1 / (noise * fragment_length) in the per-step units used here.
        if teacher not in ("oracle", "stochastic") or beta is not None:
            raise IrlkitError(
                f"feedback.noise={noise} sets a stochastic teacher's temperature; it cannot be combined with "
                f"feedback.teacher={teacher} or feedback.beta. Use feedback.teacher=stochastic feedback.beta=<b> instead."
            )
        noise = float(noise)
        if noise < 0:
            raise IrlkitError(f"feedback.noise={noise} must be >= 0 (0: a perfectly rational teacher)")
        beta = math.inf if noise == 0 else 1.0 / (noise * fragment_length)
    params = teacher_params(
        teacher, beta=beta, gamma=feedback.gamma, epsilon=feedback.epsilon, skip=feedback.skip, equal=feedback.equal
    )
    return SimulatedTeacher(params, rng=rng, logger=logger)
