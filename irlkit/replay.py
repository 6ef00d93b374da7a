"""`python -m irlkit.replay`: play stored episodes in a window or render them to a video (Hydra entry).

The work is done by `irlkit.teleop.playback`; this module only reads the command line.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Optional

import hydra
from omegaconf import DictConfig

from irlkit.config import add_schema, config_dir, register_schemas, run_entry
from irlkit.errors import IrlkitError


@dataclasses.dataclass
class ReplayConfig:
    """Typed schema of conf/replay.yaml."""

    demos: Optional[str] = None
    episode: Optional[int] = None
    video: Optional[str] = None
    root: Optional[str] = None
    fps: Optional[float] = None
    speed: float = 1.0
    atol: float = 1e-4
    include_discarded: bool = False


add_schema(None, "replay_schema", ReplayConfig)


def run_replay(cfg: DictConfig, **window_kwargs: Any) -> list[Any]:
    """Replay as the command line asks; keyword arguments go to `replay_window` (tests pass `on_frame`)."""
    from irlkit.store import DemoStore
    from irlkit.teleop.playback import ReplayDivergence, replay_video, replay_window, select_episodes

    if not cfg.get("demos"):
        raise IrlkitError(
            "demos= is required: the dataset to play back, a name in the store root or a path, e.g. demos=cartpole_teleop"
        )
    if cfg.speed <= 0:
        raise IrlkitError(f"speed={cfg.speed}: give a positive playback speed factor")
    dataset = DemoStore(cfg.root).open(str(cfg.demos))
    if cfg.include_discarded:
        dataset = dataset.select(include_discarded=True)
    indices = select_episodes(dataset, cfg.episode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReplayDivergence)
        if cfg.video:
            results = replay_video(dataset, indices, cfg.video, fps=cfg.fps, atol=cfg.atol)
        else:
            results = replay_window(dataset, indices, fps=cfg.fps, speed=cfg.speed, atol=cfg.atol, **window_kwargs)
    for w in caught:
        if issubclass(w.category, ReplayDivergence):
            print(f"irlkit: warning: {w.message}", flush=True)
    same = sum(r.diverged_at is None for r in results)
    where = f" into {cfg.video}" if cfg.video else ""
    print(
        f"Replayed {len(results)} episode(s) of {dataset.name}{where}: {same} matched the stored observations, "
        f"{len(results) - same} diverged.",
        flush=True,
    )
    return results


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="replay")
def _hydra_main(cfg: DictConfig) -> None:
    run_entry(lambda: run_replay(cfg))


def main() -> None:
    register_schemas()
    _hydra_main()


if __name__ == "__main__":
    main()
