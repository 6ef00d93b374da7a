"""How a learned policy is scored (`eval.*`): light on purpose, the config boundary imports it."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class EvalConfig:
    """How the learned policy is scored: fixed evaluation seeds, distinct from every training seed."""

    episodes: int = 10
    """Evaluation episodes for the learned and the random policy."""
    deterministic: bool = True
    """Take the policy's most likely action (as published benchmarks do)."""
    video: bool = False
    """Also write video.mp4 (or video.gif without ffmpeg) of the first episodes."""
    video_episodes: int = 2
    """Episodes the video shows (the first ones)."""
    curve_points: int = 5
    """Times during training to measure the return for the learning curve (0 = none)."""
    curve_episodes: int = 2
    """Episodes per learning-curve measurement."""
