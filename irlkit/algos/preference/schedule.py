"""When preference learning asks its annotator, and how many pairs: `total_comparisons` exactly,
at evenly spaced env steps that are whole learner steps, with a clear error when the budget is too
small for the first query (imitation's own schedule crashes when its first query gets no pairs,
`total_comparisons=8`, and spends env steps beyond the budget)."""

from __future__ import annotations

import dataclasses

import numpy as np
from imitation.algorithms import preference_comparisons as pc
from imitation.util import util as imit_util

from irlkit.algos.configs import PreferenceConfig
from irlkit.errors import IrlkitError


# ------------------------------------------------------------------------------------------------
def label_schedule(cfg: PreferenceConfig) -> list[int]:
    """Pairs asked at each query, summing to `total_comparisons` exactly; no query asks for none.

    The first query asks `initial_comparison_frac` of them (at least one); the others are spread
    over `num_iterations` later queries by `query_schedule`, rounded so the total is exact."""
    total = int(cfg.total_comparisons)
    if total < 1:
        raise IrlkitError(
            f"algo.total_comparisons={total}: the annotator must be asked at least one pair (any value >= 1 works)"
        )
    if cfg.num_iterations < 0:
        raise IrlkitError(
            f"algo.num_iterations={cfg.num_iterations} must be >= 0 (0: one query, before any reward update)"
        )
    if not 0.0 <= cfg.initial_comparison_frac <= 1.0:
        raise IrlkitError(f"algo.initial_comparison_frac={cfg.initial_comparison_frac} must lie in [0, 1]")
    if not 0.0 <= cfg.random_label_share < 1.0:
        raise IrlkitError(
            f"algo.random_label_share={cfg.random_label_share} must lie in [0, 1): the share of labels taken for coin flips"
        )
    if cfg.query_schedule not in pc.QUERY_SCHEDULES:
        raise IrlkitError(f"algo.query_schedule={cfg.query_schedule!r} is not one of {', '.join(pc.QUERY_SCHEDULES)}")
    first = min(total, max(1, int(round(total * cfg.initial_comparison_frac))))
    rest = total - first
    if rest == 0 or cfg.num_iterations == 0:
        return [total]
    weights = np.vectorize(pc.QUERY_SCHEDULES[cfg.query_schedule])(np.linspace(0, 1, cfg.num_iterations))
    shares = imit_util.oric(weights / weights.sum() * rest)
    return [first] + [int(s) for s in shares if s > 0]


@dataclasses.dataclass(frozen=True)
class QueryPlan:
    """When the annotator is asked (env steps done before each query) and how many pairs."""

    steps: list[int]
    pairs: list[int]

    @property
    def first(self) -> int:
        return self.steps[0]


def query_plan(cfg: PreferenceConfig, *, budget: int, n_envs: int, unit: int) -> QueryPlan:
    """Queries at evenly spaced env steps from the first one on, each a multiple of `unit` (the
    learner's step: one env step for off-policy learners, a whole rollout for PPO), so every
    query is followed by the same amount of training.

    The first query comes after the pre-training steps, and not before every env has produced
    two fragments' worth of steps (fewer would leave nothing to choose pairs from). A budget that
    ends there is refused, naming the minimum."""
    pairs = label_schedule(cfg)
    length = int(cfg.fragment_length)
    if length < 1:
        raise IrlkitError(f"algo.fragment_length={length} must be >= 1")
    if cfg.pretrain_steps < 0:
        raise IrlkitError(f"algo.pretrain_steps={cfg.pretrain_steps} must be >= 0")
    first = max(int(cfg.pretrain_steps), n_envs * 2 * length)
    first = -(-first // unit) * unit
    minimum = first + unit
    if budget < minimum:
        why = (
            f"algo.pretrain_steps={cfg.pretrain_steps} steps of exploration"
            if cfg.pretrain_steps * 1 >= n_envs * 2 * length
            else f"{n_envs} env(s) x 2 fragments of algo.fragment_length={length} steps"
        )
        raise IrlkitError(
            f"algo.budget={budget} env steps is too small for preference learning with these settings: the first "
            f"query comes after {first} steps ({why}, rounded up to the learner's step of {unit}), and the learner "
            f"needs at least one step of {unit} after it, so the budget must be at least {minimum}. Raise algo.budget "
            "to that, or lower algo.pretrain_steps / algo.fragment_length."
        )
    if not 0.0 < cfg.query_span <= 1.0:
        raise IrlkitError(
            f"algo.query_span={cfg.query_span} must lie in (0, 1] (1: queries spread to the end of the budget)"
        )
    span = int((budget - first) * cfg.query_span)
    steps = [first + (k * span // len(pairs)) // unit * unit for k in range(len(pairs))]
    return QueryPlan(steps=steps, pairs=pairs)
