"""A scripted person: an SB3 expert in the operator's seat, through the same input interface.

Benchmarks and tests need the human path without a human. `ScriptedPerson` is a `ScriptedInput`
(the recorder's scripted device) whose policy is the expert, plus the one decision a person makes in
HG-DAgger: when to take over and when to hand back.

- query=always (HG-DAgger): it takes over as soon as the learner proposes an action the expert
  would not take, the way a person watching steps in when the learner starts to go wrong.
- query=uncertain: it never steps in by itself; it drives only when the learner asks.

Either way it hands back after `hand_back_after` consecutive steps on which the learner's proposal
matches the expert's action again (a person does not tap a key for a single frame). Continuous
actions match when they differ by at most `tolerance` of half the action range.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from irlkit.corrections.uncertainty import Proposal
from irlkit.teleop.inputs import ScriptedInput


class ScriptedPerson(ScriptedInput):
    """An expert policy standing in for the person who corrects the learner."""

    def __init__(
        self,
        expert: Any,
        action_space: spaces.Space,
        *,
        query: str = "always",
        hand_back_after: int = 3,
        tolerance: float = 0.1,
        name: str = "script:sb3-expert",
    ):
        super().__init__(self._expert_action, device=name, autostart=True)
        self.expert = expert
        self.action_space = action_space
        self.query = query
        self.hand_back_after = hand_back_after
        self.tolerance = tolerance
        self.holding = False
        self._agreeing = 0
        self.takeovers = 0
        """How many times it took over (each take-over is one intervention in HG-DAgger's terms)."""

    def _expert_action(self, obs: Any) -> Any:
        action, _ = self.expert.predict(obs, deterministic=True)
        return action

    def agrees(self, proposed: Any, expert_action: Any) -> bool:
        if isinstance(self.action_space, spaces.Discrete):
            return int(np.asarray(proposed)) == int(np.asarray(expert_action))
        half = (self.action_space.high - self.action_space.low) / 2.0
        diff = np.abs(np.asarray(proposed, dtype=np.float64) - np.asarray(expert_action, dtype=np.float64)) / half
        return bool(np.all(diff <= self.tolerance))

    def engaged(self, obs: Any, proposal: Proposal, asked: bool) -> bool:
        """Take over, keep driving, or hand back, for the step from `obs`."""
        agrees = self.agrees(proposal.action, self._expert_action(obs))
        if self.holding:
            self._agreeing = self._agreeing + 1 if agrees else 0
            if self._agreeing >= self.hand_back_after:
                self.holding = False
        else:
            step_in = asked if self.query == "uncertain" else not agrees
            if step_in:
                self.holding, self._agreeing = True, 0
                self.takeovers += 1
        return self.holding

    def reset(self) -> None:
        """A new episode: the person starts with hands off."""
        self.holding, self._agreeing = False, 0
