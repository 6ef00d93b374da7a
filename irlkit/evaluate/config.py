"""How a learned policy is scored (`eval.*`): light on purpose, the config boundary imports it."""

from __future__ import annotations

import dataclasses

from irlkit.errors import IrlkitError


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

    def check(self) -> None:
        """Refuse settings that would make a score of nothing (a mean over 0 episodes is nan)."""
        bad = []
        if not isinstance(self.episodes, int) or self.episodes < 1:
            bad.append(
                f"episodes={self.episodes}: the score is a mean over evaluation episodes, so give 1 or more "
                "(eval.episodes=N when training, episodes=N for python -m irlkit.evaluate)"
            )
        if self.video and self.video_episodes < 1:
            bad.append(f"eval.video_episodes={self.video_episodes} with video on: give 1 or more, or video=false")
        if self.curve_points < 0:
            bad.append(f"eval.curve_points={self.curve_points}: give 0 for no learning curve, or more")
        if self.curve_points > 0 and self.curve_episodes < 1:
            bad.append(
                f"eval.curve_episodes={self.curve_episodes} with eval.curve_points={self.curve_points}: give 1 "
                "or more, or eval.curve_points=0 for no learning curve"
            )
        if bad:
            raise IrlkitError("cannot evaluate with " + "; ".join(bad) + ".")
