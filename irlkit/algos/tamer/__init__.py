"""TAMER-style live reward shaping (Knox & Stone 2009): `algo=ppo feedback=shaping`.

While PPO trains, someone watching env 0 presses good or bad; each press is credited to the last
few steps (`credit`), a small model H(obs, act) of the feedback is fitted online on the credited
steps (`model`), and `weight * H(obs, act)` is added to every env's reward (`vec_env`). Who
watches and presses is a `FeedbackSource`, the human side, built above the algorithms
(`irlkit.shaping`: a person at the keyboard, or a scripted rule through the same input path) and
handed down in `RunContext.human`; `irlkit.algos.ppo` wraps its training envs in `ShapingVecEnv`.
"""

from irlkit.algos.tamer.credit import CreditAssigner, PendingStep
from irlkit.algos.tamer.model import FeedbackModel, OnlineFitter
from irlkit.algos.tamer.vec_env import FeedbackSource, ShapingVecEnv, TamerSettings, WatchedStep

__all__ = [
    "CreditAssigner",
    "FeedbackModel",
    "FeedbackSource",
    "OnlineFitter",
    "PendingStep",
    "ShapingVecEnv",
    "TamerSettings",
    "WatchedStep",
]
