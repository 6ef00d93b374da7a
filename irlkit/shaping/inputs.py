"""Who presses good or bad in a shaping session: a person's keyboard, or a scripted rule in their seat.

Both answer `handle(events, obs, act) -> [values]` once per watched step, with that frame's pygame
events, the observation the step led to and the action taken, so the scripted person goes through
the person's input path (tests and benchmarks exercise what a person uses).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from gymnasium import spaces

from irlkit.errors import IrlkitError
from irlkit.shaping.config import INPUTS, RuleConfig, ShapingFeedbackConfig

GOOD, BAD = 1.0, -1.0


class FeedbackInput:
    """One source of good/bad feedback on the watched env."""

    device: str = "unknown"

    def handle(self, events: Sequence[Any], obs: np.ndarray, act: Optional[np.ndarray] = None) -> list[float]:
        """This frame's pygame events, env 0's newest observation and the action that led to it
        -> feedback values given now."""
        raise NotImplementedError

    def quit_requested(self, events: Sequence[Any]) -> bool:
        import pygame

        return any(e.type == pygame.QUIT or (e.type == pygame.KEYDOWN and e.key == pygame.K_ESCAPE) for e in events)


class KeyboardFeedback(FeedbackInput):
    """Up arrow (or +) = good, Down arrow (or -) = bad."""

    device = "keyboard"

    def handle(self, events: Sequence[Any], obs: np.ndarray, act: Optional[np.ndarray] = None) -> list[float]:
        import pygame

        good = {pygame.K_UP, pygame.K_PLUS, pygame.K_KP_PLUS}
        bad = {pygame.K_DOWN, pygame.K_MINUS, pygame.K_KP_MINUS}
        out: list[float] = []
        for e in events:
            if e.type == pygame.KEYDOWN and e.key in good:
                out.append(GOOD)
            elif e.type == pygame.KEYDOWN and e.key in bad:
                out.append(BAD)
        return out


class ScriptedFeedback(FeedbackInput):
    """A rule from config in the person's seat (tests, benchmarks, the seed's position bonus).

    Checked against the env's spaces when they are given (as `ShapingVecEnv` does), so a bad index
    fails at start, not at the first step."""

    def __init__(
        self,
        rule: RuleConfig,
        observation_space: Optional[spaces.Space] = None,
        action_space: Optional[spaces.Space] = None,
    ):
        if rule.above is None and rule.below is None:
            raise IrlkitError("feedback.rule needs `above` or `below` (e.g. rule.above=0.45 on obs[rule.obs_index])")
        if rule.above is not None and rule.below is not None and rule.above >= rule.below:
            raise IrlkitError(
                f"feedback.rule.above={rule.above} >= rule.below={rule.below}: the rule could never "
                "hold; give above < below, or only one of them"
            )
        if rule.every < 1:
            raise IrlkitError(f"feedback.rule.every={rule.every}: at least 1 (steps between presses)")
        if observation_space is not None:
            n_obs = int(np.prod(observation_space.shape or (0,)))
            if not 0 <= rule.obs_index < n_obs:
                raise IrlkitError(
                    f"feedback.rule.obs_index={rule.obs_index}: the observation has {n_obs} entries (0..{n_obs - 1})"
                )
        if rule.action_index is not None and action_space is not None:
            if not isinstance(action_space, spaces.Box):
                raise IrlkitError(
                    f"feedback.rule.action_index={rule.action_index}: needs a continuous (Box) action "
                    f"space, this env's is {action_space}; leave action_index unset"
                )
            n_act = int(np.prod(action_space.shape))
            if not 0 <= rule.action_index < n_act:
                raise IrlkitError(
                    f"feedback.rule.action_index={rule.action_index}: the action has {n_act} entries (0..{n_act - 1})"
                )
        self.rule = rule
        self.device = "script:rule"
        self._since = rule.every

    def value(self, obs: np.ndarray, act: Optional[np.ndarray] = None) -> float:
        """The number the rule thresholds: obs[obs_index], times act[action_index] when set."""
        x = float(np.asarray(obs).reshape(-1)[self.rule.obs_index])
        if self.rule.action_index is not None:
            if act is None:
                raise IrlkitError("feedback.rule.action_index is set but no action was given to the rule")
            x *= float(np.asarray(act, dtype=np.float64).reshape(-1)[self.rule.action_index])
        return x

    def holds(self, obs: np.ndarray, act: Optional[np.ndarray] = None) -> bool:
        x = self.value(obs, act)
        ok = True
        if self.rule.above is not None:
            ok = ok and x > self.rule.above
        if self.rule.below is not None:
            ok = ok and x < self.rule.below
        return ok

    def handle(self, events: Sequence[Any], obs: np.ndarray, act: Optional[np.ndarray] = None) -> list[float]:
        self._since += 1
        if self._since < self.rule.every:
            return []
        value = self.rule.good if self.holds(obs, act) else self.rule.otherwise
        if value is None:
            return []
        self._since = 0
        return [float(value)]


def make_input(
    cfg: ShapingFeedbackConfig,
    observation_space: Optional[spaces.Space] = None,
    action_space: Optional[spaces.Space] = None,
) -> FeedbackInput:
    if cfg.input not in INPUTS:
        raise IrlkitError(f"feedback.input={cfg.input!r}: choose one of {', '.join(INPUTS)}")
    if cfg.input == "keyboard":
        return KeyboardFeedback()
    return ScriptedFeedback(cfg.rule, observation_space, action_space)
