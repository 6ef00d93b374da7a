"""The `feedback` config group's annotators that live here: a person in the browser, or a saved
preference dataset. Plain dataclasses (Hydra stays at the edge: `schemas.py` registers them)."""

from __future__ import annotations

import dataclasses
from typing import Optional


@dataclasses.dataclass
class HumanFeedbackConfig:
    """A person answers each query on the labelling page (`feedback=human`)."""

    kind: str = "human"
    host: str = "127.0.0.1"
    """Loopback only (127.0.0.1 or ::1); other addresses are refused."""
    port: int = 8765
    """0 picks any free port (the URL is printed)."""
    annotator: Optional[str] = None
    """Your alias (a pseudonym); unset, the page asks for one."""
    dataset: Optional[str] = None
    """Preference dataset in the store root that keeps pairs and labels (default `<env>_preferences`)."""
    root: Optional[str] = None
    """Store root (default: IRLKIT_DEMOS, the checkout's demos/, or ~/.local/share/irlkit/demos)."""
    resume: bool = True
    """Reuse labels this run (same env, seed and algo config) already got in the dataset."""
    clip_fps: float = 25.0
    """Frames per second of the clips shown on the page."""
    clip_format: str = "mp4"
    """mp4 (H.264, needs imageio-ffmpeg), webp or gif; mp4 falls back to webp without ffmpeg."""
    clip_stride: int = 2
    """Keep every n-th pixel of rendered frames (2 halves width and height: smaller, faster clips)."""
    open_browser: bool = False
    """Open the page in the default browser when the server starts."""


@dataclasses.dataclass
class DatasetFeedbackConfig:
    """Answers come from a saved preference dataset, no person present (`feedback=dataset`)."""

    kind: str = "dataset"
    dataset: Optional[str] = None
    """Preference dataset name in the store root (or a path); required."""
    root: Optional[str] = None
    """Store root of that preference dataset (default: IRLKIT_DEMOS, the checkout's demos/, or ~/.local/share/irlkit/demos)."""
    annotators: Optional[list[str]] = None
    """Train only on these annotators' labels (default: everyone's)."""
