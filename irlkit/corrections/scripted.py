"""A scripted person: an SB3 expert in the operator's seat, through the same input interface.

Benchmarks and tests need the human path without a human. `ScriptedPerson` is a `ScriptedInput`
(the recorder's scripted device) whose policy is the expert, plus the one decision a person makes in
HG-DAgger: when to take over and when to hand back.

- query=always (HG-DAgger): it takes over as soon as the learner proposes an action the expert
  finds bad, the way a person watching steps in when the learner starts to go wrong. "Bad" is
  judged by the expert's own policy: for discrete actions, a probability below `accept_prob` (half
  of CartPole's states are ones where the expert itself is near 50/50 between pushing left and
  right: a person would not step in there); for experts without an action distribution (DQN), any
  action other than the expert's.
- query=uncertain: it never steps in by itself. When the learner asks, it looks at the learner's
  proposal as a person would: if the expert accepts it, it lets the learner go on (Space, the
  decline key: an approval, no action given); otherwise it takes over.

Either way it hands back after `hand_back_after` consecutive steps on which the learner's proposal
is acceptable again (a person does not tap a key for a single frame). Continuous actions are
acceptable when they differ from the expert's by at most `tolerance` of half the action range. While
it drives, its action is the expert's deterministic one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces

from irlkit.algos.bc_ensemble import Proposal
from irlkit.teleop.inputs import Control, RecorderState, ScriptedInput


class ScriptedPerson(ScriptedInput):
    """An expert policy standing in for the person who corrects the learner."""

    def __init__(
        self,
        expert: Any,
        action_space: spaces.Space,
        *,
        query: str = "always",
        hand_back_after: int = 3,
        accept_prob: float = 0.2,
        tolerance: float = 0.1,
        name: str = "script:sb3-expert",
    ):
        super().__init__(self._expert_action, device=name, autostart=True, controls=self._answer)
        self.expert = expert
        self.action_space = action_space
        self.query = query
        self.hand_back_after = hand_back_after
        self.tolerance = tolerance
        self.accept_prob = accept_prob
        self.holding = False
        self._agreeing = 0
        self._decline = False
        self.declined = 0
        """Questions it answered with "go on" (the learner's action was acceptable)."""
        self.takeovers = 0
        """How many times it took over (each take-over is one intervention in HG-DAgger's terms)."""

    def _expert_action(self, obs: Any) -> Any:
        action, _ = self.expert.predict(obs, deterministic=True)
        return action

    def acceptable(self, obs: Any, proposed: Any, expert_action: Any) -> bool:
        """Would the expert let the learner take `proposed` in `obs`?"""
        if isinstance(self.action_space, spaces.Discrete):
            if int(np.asarray(proposed)) == int(np.asarray(expert_action)):
                return True
            get_distribution = getattr(self.expert, "get_distribution", None)
            if get_distribution is None:  # e.g. DQN: only its own action is good
                return False
            with th.no_grad():
                obs_t, _ = self.expert.obs_to_tensor(obs)
                probs = get_distribution(obs_t).distribution.probs[0]
            return float(probs[int(np.asarray(proposed))]) >= self.accept_prob
        half = (self.action_space.high - self.action_space.low) / 2.0
        diff = np.abs(np.asarray(proposed, dtype=np.float64) - np.asarray(expert_action, dtype=np.float64)) / half
        return bool(np.all(diff <= self.tolerance))

    def engaged(self, obs: Any, proposal: Proposal, asked: bool) -> bool:
        """Take over, keep driving, or hand back, for the step from `obs`."""
        agrees = self.acceptable(obs, proposal.action, self._expert_action(obs))
        if self.holding:
            self._agreeing = self._agreeing + 1 if agrees else 0
            if self._agreeing >= self.hand_back_after:
                self.holding = False
        elif self.query == "uncertain":
            if asked and agrees:
                self._decline = True  # pressed on the next frame, through the same control path as Space
            elif asked:
                self.holding, self._agreeing = True, 0
                self.takeovers += 1
        elif not agrees:
            self.holding, self._agreeing = True, 0
            self.takeovers += 1
        return self.holding

    def _answer(self, status: Any) -> list[Control]:
        """The Space press that declines a question (see `engaged`)."""
        if self._decline and status.state is RecorderState.PAUSED:
            self._decline = False
            self.declined += 1
            return [Control.START_PAUSE]
        return []

    def reset(self) -> None:
        """A new episode: the person starts with hands off."""
        self.holding, self._agreeing, self._decline = False, 0, False
