"""Playing stored episodes back: re-simulate from the stored seed and actions, show or encode the frames.

The store keeps observations, not pixels: frames are rendered again by resetting the env with the
episode's seed and re-stepping its actions. That keeps datasets small and doubles as a check that a
dataset still matches its env: when the re-simulated observations drift from the stored ones (a
different env version, non-deterministic dynamics, a damaged dataset) a `ReplayDivergence` warning
says at which step and by how much. The window is paced by the clock every window session shares
(`irlkit.teleop.loop.FixedRateClock`).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any, Callable, Generator, Optional, Sequence

import gymnasium as gym
import numpy as np

from irlkit.envs import render_fps
from irlkit.errors import IrlkitError
from irlkit.store import Dataset, Episode
from irlkit.teleop.loop import FixedRateClock
from irlkit.teleop.window import Window, render_frame

VIDEO_SUFFIXES = (".mp4", ".gif")


class ReplayDivergence(UserWarning):
    """Re-simulated observations differ from the stored ones."""


@dataclasses.dataclass
class ReplayResult:
    """How one episode replayed."""

    index: int
    steps: int
    diverged_at: Optional[int] = None
    """First step whose observation differs from the stored one (0 is the reset), or None."""
    max_abs_diff: float = 0.0
    frames: int = 0


def make_replay_env(dataset: Dataset) -> gym.Env:
    """The env a dataset was recorded on, rebuilt from its stored spec (id, kwargs, time limit)."""
    import seals  # noqa: F401  (registers seals/* ids, which stored specs may name)
    from gymnasium.envs.registration import EnvSpec

    spec = dict(dataset.env_spec)
    try:
        if spec.get("entry_point"):
            spec.setdefault("kwargs", {})
            target: Any = EnvSpec.from_json(json.dumps(spec))
            return gym.make(target, render_mode="rgb_array")
        return gym.make(dataset.env_id, render_mode="rgb_array", max_episode_steps=spec.get("max_episode_steps"))
    except (gym.error.Error, ImportError, TypeError, ValueError, AttributeError) as err:
        raise IrlkitError(
            f"cannot rebuild env {dataset.env_id!r} of dataset {dataset.name!r} for replay: {err}. Install what the "
            "env needs (see the env config in conf/env/), or replay on a machine that can make it."
        ) from None


def replay_frames(
    env: gym.Env, episode: Episode, *, index: int, atol: float = 1e-4
) -> Generator[tuple[np.ndarray, int, ReplayResult], None, None]:
    """Yield (frame, step, result so far) for the reset and every stored action, checking observations."""
    seed = episode.meta.seed
    if seed is None:
        raise IrlkitError(
            f"episode {index} ({episode.meta.episode_id}) has no stored seed, so its start state cannot be "
            "rebuilt; replay works for episodes recorded with a seed (teleop and policy rollouts store one)"
        )
    result = ReplayResult(index=index, steps=len(episode))
    obs, _ = env.reset(seed=int(seed))
    what = f"env {env.spec.id if env.spec else '?'}"

    def check(t: int, new_obs: Any) -> None:
        diff = float(
            np.max(
                np.abs(np.asarray(new_obs, dtype=np.float64) - np.asarray(episode.obs[t], dtype=np.float64)),
                initial=0.0,
            )
        )
        result.max_abs_diff = max(result.max_abs_diff, diff)
        if diff > atol and result.diverged_at is None:
            result.diverged_at = t
            warnings.warn(
                f"episode {index} ({episode.meta.episode_id}): replayed observation at step {t} differs from the stored one "
                f"by {diff:.3g} (> {atol:g}); the env version or its dynamics differ from the recording, so the frames "
                "follow the re-simulation, not the recording",
                ReplayDivergence,
                stacklevel=3,
            )

    check(0, obs)
    result.frames += 1
    yield render_frame(env, what=what), 0, result
    for t, act in enumerate(episode.acts):
        action = act if np.ndim(act) else act.item()
        obs, _, terminated, truncated, _ = env.step(action)
        check(t + 1, obs)
        result.frames += 1
        yield render_frame(env, what=what), t + 1, result
        if (terminated or truncated) and t + 1 < len(episode):
            if result.diverged_at is None:
                result.diverged_at = t + 1
                warnings.warn(
                    f"episode {index}: the env ended at step {t + 1} but {len(episode)} actions are stored",
                    ReplayDivergence,
                    stacklevel=3,
                )
            break


def select_episodes(dataset: Dataset, episode: Optional[int]) -> list[int]:
    if len(dataset) == 0:
        raise IrlkitError(f"dataset {dataset.name!r} holds no episodes to replay")
    if episode is None:
        return list(range(len(dataset)))
    if not -len(dataset) <= episode < len(dataset):
        raise IrlkitError(f"episode={episode}: dataset {dataset.name!r} has episodes 0..{len(dataset) - 1}")
    return [episode % len(dataset)]


def replay_window(
    dataset: Dataset,
    indices: Sequence[int],
    *,
    fps: Optional[float] = None,
    speed: float = 1.0,
    atol: float = 1e-4,
    on_frame: Optional[Callable[[int, int], None]] = None,
    realtime: bool = True,
) -> list[ReplayResult]:
    """Show episodes in a window at their recorded fps × speed. Space pauses, Enter skips, Esc quits."""
    import pygame

    env = make_replay_env(dataset)
    results: list[ReplayResult] = []
    try:
        env.reset(seed=0)
        first = render_frame(env, what=f"env {dataset.env_id}")
        window = Window(f"irlkit replay – {dataset.name} ({dataset.env_id})", first.shape, hud_lines=2)
        quit_all = False
        for n, k in enumerate(indices):
            ep = dataset.episode(k)
            rate = (fps or ep.meta.fps or render_fps(env)) * speed
            paused = False
            clock = FixedRateClock(rate, realtime=realtime)
            result: Optional[ReplayResult] = None
            frames = replay_frames(env, ep, index=k, atol=atol)
            returns = np.concatenate([[0.0], np.cumsum(ep.rews)])  # return after t steps, for the HUD
            skip = False
            while not skip:
                if on_frame is not None:
                    on_frame(k, result.frames if result else 0)
                for event in pygame.event.get():
                    if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                        quit_all = skip = True
                    elif event.type == pygame.KEYDOWN and event.key == pygame.K_SPACE:
                        paused = not paused
                    elif event.type == pygame.KEYDOWN and event.key in (pygame.K_RETURN, pygame.K_RIGHT):
                        skip = True
                if skip:
                    break
                if not paused:
                    try:
                        frame, t, result = next(frames)
                    except StopIteration:
                        break
                    m = ep.meta
                    lines = [
                        f"REPLAY  episode {k} ({n + 1} of {len(indices)})  step {t}/{len(ep)}  return {float(returns[t]):.1f}",
                        f"{m.source} by {m.operator or m.device or '?'}  seed {m.seed}  {rate:g} fps   Space pause  Enter next  Esc quit",
                    ]
                    window.show(frame, lines, state="replay")
                clock.wait()
            frames.close()
            if result is not None:
                results.append(result)
            if quit_all:
                break
        window.close()
    finally:
        env.close()
    return results


def _even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return np.ascontiguousarray(frame)


def replay_video(
    dataset: Dataset, indices: Sequence[int], path: str | Path, *, fps: Optional[float] = None, atol: float = 1e-4
) -> list[ReplayResult]:
    """Render episodes, one after another, into an .mp4 (H.264 via imageio-ffmpeg) or an animated .gif."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise IrlkitError(f"video={path}: give a file ending in {' or '.join(VIDEO_SUFFIXES)}")
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise IrlkitError("video= needs imageio (and imageio-ffmpeg for .mp4): pip install 'irlkit[video]'") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    env = make_replay_env(dataset)
    first_meta = dataset.episode(indices[0]).meta
    rate = float(fps or first_meta.fps or render_fps(env))
    if suffix == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            env.close()
            raise IrlkitError(
                "video=*.mp4 needs imageio-ffmpeg (it carries its own ffmpeg): pip install 'irlkit[video]', or write a .gif"
            ) from None
        # H.264 in yuv420p needs even sizes: frames are padded by a pixel where needed (see _even).
        writer = imageio.get_writer(path, fps=rate, codec="libx264", macro_block_size=2, quality=7)
    else:
        writer = imageio.get_writer(path, mode="I", duration=1000.0 / rate, loop=0)
    results = []
    try:
        for k in indices:
            last: Optional[ReplayResult] = None
            for frame, _, so_far in replay_frames(env, dataset.episode(k), index=k, atol=atol):
                rgb = frame[..., :3]
                writer.append_data(_even(rgb) if suffix == ".mp4" else np.ascontiguousarray(rgb))
                last = so_far
            if last is not None:
                results.append(last)
    finally:
        writer.close()
        env.close()
    return results
