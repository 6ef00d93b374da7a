"""TAMER's credit assignment (Knox & Stone 2009): which steps a press of good or bad is about.

A person presses some time after what they judge, so a press at step t is credited to steps
t, t-1, ... t-k+1 of the watched env, with uniform or gamma-decayed weights (`credit_gamma ** j` on
the step j back), never across an episode's start. A step's label is the credit-weighted mean of
the presses that reached it; steps no press reached get `silence` (0, "no opinion"; None leaves
them out of the model's data).
"""

from __future__ import annotations

import collections
from typing import Optional

import numpy as np

from irlkit.errors import IrlkitError

CREDITS = ("uniform", "gamma")


class PendingStep:
    """A watched step still inside the credit window: the weighted sum of the presses that reached it
    (`wv`), their weights (`w`), and the press given at it (`pressed`, summed if several)."""

    __slots__ = ("obs", "act", "wv", "w", "pressed")

    def __init__(self, obs: np.ndarray, act: np.ndarray):
        self.obs, self.act, self.wv, self.w = obs, act, 0.0, 0.0
        self.pressed: Optional[float] = None

    def label(self, silence: Optional[float]) -> Optional[float]:
        """The credit-weighted mean of the presses that reached this step; `silence` when none did."""
        return self.wv / self.w if self.w > 0 else silence


class CreditAssigner:
    """Credits presses to the last `k` steps of the watched episode (TAMER's credit window)."""

    def __init__(self, k: int, *, credit: str = "uniform", gamma: float = 0.8, silence: Optional[float] = 0.0):
        if k < 1:
            raise IrlkitError(f"feedback.credit_steps={k}: at least 1")
        if credit not in CREDITS:
            raise IrlkitError(f"feedback.credit={credit!r}: choose one of {', '.join(CREDITS)}")
        self.weights = np.ones(k) if credit == "uniform" else gamma ** np.arange(k)
        self.silence = silence
        self.window: collections.deque[PendingStep] = collections.deque()

    def step(self, obs: np.ndarray, act: np.ndarray) -> list[PendingStep]:
        """A new watched step; returns the steps that left the credit window (now final)."""
        self.window.append(PendingStep(obs, act))
        out = []
        while len(self.window) > len(self.weights):
            out.append(self.window.popleft())
        return out

    def press(self, value: float) -> None:
        """Feedback given now: credit the newest step and the k - 1 before it."""
        if not self.window:
            return
        newest = self.window[-1]
        newest.pressed = value if newest.pressed is None else newest.pressed + value
        for j, p in enumerate(reversed(self.window)):
            p.wv += self.weights[j] * value
            p.w += self.weights[j]

    def flush(self) -> list[PendingStep]:
        """The episode ended: every step in the window is final."""
        out = list(self.window)
        self.window.clear()
        return out
