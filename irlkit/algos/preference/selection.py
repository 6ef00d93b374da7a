"""Which policy a preference run keeps: the one the *current* reward model rates highest among
candidates played along the way (`irlkit.algos.selection.LearnedReturnSelector`; preference
learning has no demos to compare a policy with, as the imitation learners' selection does)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from irlkit.algos.configs import PreferenceConfig
from irlkit.algos.preference.schedule import QueryPlan
from irlkit.algos.selection import LearnedReturnSelector
from irlkit.errors import IrlkitError


def make_selector(
    cfg: PreferenceConfig, ctx: Any, plan: QueryPlan, *, budget: int, learner: str
) -> Optional[LearnedReturnSelector]:
    """The selector `algo.select_policy` asks for, or None (off, or the PPO learner). Points None:
    a candidate before every query, at the same spacing after the last one, and at the end."""
    points = cfg.select_policy.points
    if points == 0:
        return None
    if learner == "ppo":
        if points is not None:
            raise IrlkitError(
                f"algo.select_policy.points={points}: policy selection needs an off-policy learner (sac or dqn), "
                "not algo.learner=ppo; set algo.select_policy.points=0 or choose another learner."
            )
        return None
    if cfg.select_policy.episodes < 1 or (points is not None and not 0 < points <= budget):
        raise IrlkitError(
            f"algo.select_policy needs 0 <= points <= algo.budget ({budget}) and episodes >= 1, got "
            f"points={points}, episodes={cfg.select_policy.episodes}: set e.g. algo.select_policy.episodes=3, "
            "or algo.select_policy.points=0 to keep the last policy."
        )
    if points is None:
        gap = max(1, plan.steps[1] - plan.steps[0] if len(plan.steps) > 1 else budget)
        steps = [*plan.steps, *range(plan.steps[-1] + gap, budget, gap), budget]
    else:
        every = max(1, budget // points)
        steps = [*range(every, budget + 1, every), budget]
    return LearnedReturnSelector(cfg.select_policy, ctx.env_cfg, ctx.seed, steps=steps)


def learned_returns(
    model: Any,
    absorbing: Any,
    obs: np.ndarray,
    acts: np.ndarray,
    next_obs: np.ndarray,
    terminated: np.ndarray,
    horizon_left: np.ndarray,
) -> np.ndarray:
    """The reward model's reward of each env transition; where an episode terminated, the absorbing
    state's reward for the `horizon_left` steps it continues (`absorbing`: the run's
    `AbsorbingStates`, None for envs that never terminate)."""
    terminated = np.asarray(terminated, dtype=bool)
    if absorbing is None:
        return np.asarray(model.predict(obs, acts, next_obs, np.zeros(len(obs))), dtype=np.float64)
    padded_next = absorbing.pad(next_obs)
    padded_next[terminated] = absorbing.absorbing(int(terminated.sum()))
    acts = np.asarray(acts)
    r = np.asarray(model.predict(absorbing.pad(obs), acts, padded_next, np.zeros(len(obs))), dtype=np.float64)
    a0 = absorbing.absorbing_actions(1).reshape((1, *acts.shape[1:])).astype(acts.dtype)
    r_abs = float(model.predict(absorbing.absorbing(1), a0, absorbing.absorbing(1), np.zeros(1))[0])
    return r + terminated * np.asarray(horizon_left, dtype=np.float64) * r_abs
