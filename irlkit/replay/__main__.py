"""`python -m irlkit.replay`: play stored episodes in a window or render them to a video (Hydra entry).

The work is done by `irlkit.teleop.playback`; this module only reads the command line.
"""

from __future__ import annotations

import warnings
from typing import Any

from omegaconf import DictConfig

from irlkit.cli.app import HydraCommand
from irlkit.errors import IrlkitError


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


COMMAND = HydraCommand(
    prog="python -m irlkit.replay",
    config_name="replay",
    usage="python -m irlkit.replay demos=<dataset> [episode=K] [video=FILE]",
    description="""\
Play stored episodes back: the env is reset with each episode's stored seed and re-stepped with its
stored actions; a warning says where the replayed observations leave the stored ones.""",
    footer="In the window: Space pause/resume, Enter next episode, Esc quit. Docs: docs/record.md",
    run=lambda cfg, overrides: run_replay(cfg),
)


def main() -> None:
    COMMAND.main()


if __name__ == "__main__":
    main()
