"""Fragments to clips the browser plays: frames from the env's renderer, encoded to a file.

A fragment is a list of observations, not a replayable episode (no reset seed), so frames are
drawn by putting the env's physical state back from each observation. For the classic-control
envs whose state is their observation (CartPole, MountainCar) or follows from it (Pendulum,
Acrobot) that is exact; a CartPole cart beyond the picture is drawn at its edge, with the edge
marked red. Any other env gets a plain chart of the observation vector per step, so a
person still sees how the fragments differ; `state_setter_for` is where to add an env.

Encoding: H.264 in an .mp4 through imageio-ffmpeg (about 0.15 s for 50 small frames with the
`ultrafast` preset; Chromium plays it), else an animated WebP through Pillow (about 0.05 s, no
ffmpeg needed). Both clips of a pair get the same number of frames, so they loop in step.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from irlkit.envs import EnvConfig, make_env
from irlkit.errors import IrlkitError

StateSetter = Callable[[Any, np.ndarray], Optional[int]]
"""Puts the env into an observation's state; returns -1/+1 when the thing shown is off the left/right
edge of the picture (it is then drawn at the edge, and the edge is marked), else None."""


def _set_identity(env: Any, obs: np.ndarray) -> Optional[int]:
    env.state = np.array(obs, dtype=np.float64)
    return None


def _set_cartpole(env: Any, obs: np.ndarray) -> Optional[int]:
    # gymnasium draws x in [-x_threshold, x_threshold] only; seals' CartPole never ends an episode,
    # so a learner's cart often drives out of the picture. Keep it at the edge and mark that edge.
    state = np.array(obs, dtype=np.float64)
    limit = float(getattr(env, "x_threshold", 2.4)) - 0.2  # half a cart's width inside the picture
    edge = None if abs(state[0]) <= limit else (1 if state[0] > 0 else -1)
    state[0] = float(np.clip(state[0], -limit, limit))
    env.state = state
    return edge


def _set_pendulum(env: Any, obs: np.ndarray) -> Optional[int]:
    env.state = np.array([math.atan2(float(obs[1]), float(obs[0])), float(obs[2])])
    return None


def _set_acrobot(env: Any, obs: np.ndarray) -> Optional[int]:
    env.state = np.array([math.atan2(obs[1], obs[0]), math.atan2(obs[3], obs[2]), obs[4], obs[5]], dtype=np.float64)
    return None


def state_setter_for(env: Any) -> Optional[StateSetter]:
    """How to put `env.unwrapped` into the state an observation shows, or None if unknown."""
    from gymnasium.envs.classic_control import (
        AcrobotEnv,
        CartPoleEnv,
        Continuous_MountainCarEnv,
        MountainCarEnv,
        PendulumEnv,
    )

    u = env.unwrapped
    if isinstance(u, CartPoleEnv):
        return _set_cartpole
    if isinstance(u, (MountainCarEnv, Continuous_MountainCarEnv)):
        return _set_identity
    if isinstance(u, PendulumEnv):
        return _set_pendulum
    if isinstance(u, AcrobotEnv):
        return _set_acrobot
    return None


def chart_frame(obs: np.ndarray, low: np.ndarray, high: np.ndarray, size: tuple[int, int] = (200, 300)) -> np.ndarray:
    """One frame showing each observation dimension as a bar (for envs we cannot re-pose)."""
    h, w = size
    frame = np.full((h, w, 3), 250, dtype=np.uint8)
    flat = np.asarray(obs, dtype=np.float64).ravel()
    n = max(1, len(flat))
    lo = np.where(np.isfinite(low), low, -1.0).ravel()[:n]
    hi = np.where(np.isfinite(high), high, 1.0).ravel()[:n]
    span = np.where(hi > lo, hi - lo, 1.0)
    frac = np.clip((flat - lo) / span, 0.0, 1.0)
    bar_w = max(2, w // n - 2)
    for i, f in enumerate(frac):
        x0 = i * (w // n) + 1
        top = int(round((1.0 - f) * (h - 2)))
        frame[top : h - 1, x0 : x0 + bar_w] = (60, 110, 200)
    frame[h // 2, :] = (180, 180, 180)
    return frame


class FrameRenderer:
    """Draws a fragment's observations as RGB frames (downscaled by an integer stride)."""

    def __init__(self, env_cfg: EnvConfig, *, stride: int = 2):
        self.stride = max(1, int(stride))
        try:
            self._env = make_env(env_cfg, render_mode="rgb_array")
            drawable = True
        except Exception:  # noqa: BLE001  (an env without rgb_array rendering gets observation charts)
            self._env, drawable = make_env(env_cfg), False
        self._env.reset(seed=0)
        self._setter = state_setter_for(self._env) if drawable else None
        u = self._env.unwrapped
        if (
            self.stride > 1
            and hasattr(u, "screen_width")
            and hasattr(u, "screen_height")
            and getattr(u, "screen", None) is None
        ):
            # Classic-control envs draw at their screen size: drawing at the clip's size is 4x cheaper
            # than drawing big and dropping pixels (0.4 vs 1.6 ms a CartPole frame here).
            u.screen_width, u.screen_height = u.screen_width // self.stride, u.screen_height // self.stride
            self.stride = 1
        space = self._env.observation_space
        self._low = np.asarray(getattr(space, "low", -np.ones(space.shape or (1,))), dtype=np.float64)
        self._high = np.asarray(getattr(space, "high", np.ones(space.shape or (1,))), dtype=np.float64)

    @property
    def exact(self) -> bool:
        """True when frames show the env itself, False when they are observation charts."""
        return self._setter is not None

    def frames(self, obs: np.ndarray) -> list[np.ndarray]:
        out = []
        for o in np.asarray(obs):
            if self._setter is not None:
                edge = self._setter(self._env.unwrapped, o)
                frame = np.array(self._env.render())[..., :3][:: self.stride, :: self.stride]
                if edge is not None:  # a red band on the side the cart left the picture
                    band = slice(0, 6) if edge < 0 else slice(frame.shape[1] - 6, frame.shape[1])
                    frame[:, band] = (220, 40, 40)
            else:
                frame = chart_frame(o, self._low, self._high)
            out.append(_even(np.ascontiguousarray(frame)))
        return out

    def close(self) -> None:
        self._env.close()


def _even(frame: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even sizes: pad by one pixel where needed."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def video_format(preferred: str = "mp4") -> str:
    """`mp4` when imageio-ffmpeg is installed (and asked for), else `webp`."""
    if preferred not in ("mp4", "webp", "gif"):
        raise IrlkitError(f"feedback.clip_format={preferred!r}: choose mp4, webp or gif")
    if preferred == "mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            return "webp"
    return preferred


def encode_clip(frames: list[np.ndarray], path: Path, *, fps: float) -> Path:
    """Write frames as a looping clip; the suffix of `path` picks the format (.mp4, .webp, .gif).

    Written to a temporary name and renamed, so the server never serves half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    if path.suffix == ".mp4":
        import imageio.v2 as imageio

        writer = imageio.get_writer(
            tmp,
            fps=fps,
            codec="libx264",
            macro_block_size=2,
            quality=None,
            pixelformat="yuv420p",
            ffmpeg_params=["-preset", "ultrafast", "-tune", "zerolatency", "-crf", "23", "-movflags", "+faststart"],
            ffmpeg_log_level="error",
        )
        try:
            for f in frames:
                writer.append_data(f)
        finally:
            writer.close()
    else:
        from PIL import Image

        images = [Image.fromarray(f) for f in frames]
        kwargs: dict[str, Any] = {
            "save_all": True,
            "append_images": images[1:],
            "duration": int(round(1000 / fps)),
            "loop": 0,
        }
        if path.suffix == ".webp":
            kwargs.update(quality=70, method=0)
        images[0].save(tmp, **kwargs)
    tmp.replace(path)
    return path


@dataclasses.dataclass
class ClipJob:
    """Two fragments' observations to render as the left and right clip of one pair."""

    pair_id: str
    obs_left: np.ndarray
    obs_right: np.ndarray
    queued_at: float = dataclasses.field(default_factory=time.monotonic)


@dataclasses.dataclass(frozen=True)
class ClipPair:
    """A rendered pair: file names (inside the clip folder), frame count and timings."""

    pair_id: str
    left: str
    right: str
    frames: int
    fps: float
    render_s: float
    queued_at: float


class ClipWorker:
    """Renders clip pairs in a background thread, in the order they were queued.

    Training hands over fragments and goes on (the next pair renders while the person watches
    the first); `on_ready(ClipPair)` is called from the worker thread for each finished pair."""

    def __init__(
        self,
        env_cfg: EnvConfig,
        out_dir: Path,
        *,
        on_ready: Callable[[ClipPair], None],
        fps: float = 25.0,
        fmt: str = "mp4",
        stride: int = 2,
        on_error: Optional[Callable[[str, BaseException], None]] = None,
    ):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self.fmt = video_format(fmt)
        self._env_cfg, self._stride = env_cfg, stride
        self._on_ready, self._on_error = on_ready, on_error
        self._jobs: "queue.Queue[Optional[ClipJob]]" = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="irlkit-clips", daemon=True)
        self._renderer: Optional[FrameRenderer] = None
        self._thread.start()

    def submit(self, job: ClipJob) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # The env is made in this thread: pygame surfaces are best used from the thread that made them.
        try:
            self._renderer = FrameRenderer(self._env_cfg, stride=self._stride)
            setup_error: Optional[BaseException] = None
        except Exception as err:  # noqa: BLE001  (every job is then answered with this error, none hangs)
            setup_error = err
        while True:
            job = self._jobs.get()
            if job is None:
                break
            try:
                if setup_error is not None:
                    raise IrlkitError(f"cannot render clips of {self._env_cfg.id}: {setup_error}") from setup_error
                self._on_ready(self.render(job))
            except Exception as err:  # noqa: BLE001  (one bad pair must not stop the worker)
                if self._on_error is not None:
                    self._on_error(job.pair_id, err)
        if self._renderer is not None:
            self._renderer.close()

    def render(self, job: ClipJob) -> ClipPair:
        assert self._renderer is not None
        t0 = time.monotonic()
        left, right = self._renderer.frames(job.obs_left), self._renderer.frames(job.obs_right)
        n = max(len(left), len(right))
        left += [left[-1]] * (n - len(left))  # same length, so the two clips loop in step
        right += [right[-1]] * (n - len(right))
        names = []
        for side, frames in (("L", left), ("R", right)):
            name = f"{job.pair_id}-{side}.{self.fmt}"
            encode_clip(frames, self.out_dir / name, fps=self.fps)
            names.append(name)
        return ClipPair(job.pair_id, names[0], names[1], n, self.fps, time.monotonic() - t0, job.queued_at)
