"""The watched env: TAMER's `FeedbackSource` (irlkit.algos.tamer) with a person or a rule at it.

`WatchedEnvFeedback` is what `feedback=shaping` hands down to PPO's shaped VecEnv. For each step of
env 0 it runs the frame hook, reads the window's events, asks the input (`irlkit.shaping.inputs`:
keyboard, or the scripted rule) for presses, draws the frame and the HUD, and paces the window at
the session's fixed rate (`irlkit.teleop.loop`). It stores every watched episode through the
shared episode writer (source `correction`, one info dict per step, irlkit.shaping.stores): each
step reaches the store's journal as it is taken, so a killed session loses no press, and the episode
is committed atomically when it ends, with the credited labels the algorithm gives it then.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional, Sequence

import numpy as np

from irlkit.algos.tamer import WatchedStep
from irlkit.envs import EnvConfig, dataset_for_env, render_fps
from irlkit.errors import IrlkitError
from irlkit.shaping.config import ShapingFeedbackConfig
from irlkit.shaping.inputs import FeedbackInput, make_input
from irlkit.shaping.stores import KIND, SOURCE
from irlkit.store import DemoStore, EpisodeMeta, check_operator, utc_now
from irlkit.teleop.loop import EpisodeWriter, FixedRateClock, read_events, refuse_invisible_window


class WatchedEnvFeedback:
    """Env 0 watched by a person at the keyboard (in a window) or by a scripted rule.

    `on_frame(watched_step)` runs before each watched step's events are read (tests post pygame
    events from it). `device` replaces the input the config asks for (tests: a rule that reports
    its presses)."""

    def __init__(
        self,
        cfg: ShapingFeedbackConfig,
        env_cfg: EnvConfig,
        *,
        observation_space: Any,
        action_space: Any,
        store: Optional[DemoStore] = None,
        on_frame: Optional[Callable[[int], None]] = None,
        device: Optional[FeedbackInput] = None,
    ):
        self.cfg = cfg
        self.env_cfg = env_cfg
        self.input = device if device is not None else make_input(cfg, observation_space, action_space)
        operator = cfg.operator or ("rule" if cfg.input == "scripted" else None)
        if operator is None:
            raise IrlkitError(
                "feedback=shaping with input=keyboard needs operator=<your alias> (stored with every press)"
            )
        self.operator = check_operator(operator)
        self.on_frame = on_frame
        self.store = store if store is not None else DemoStore(cfg.store_root)
        self.dataset_name = cfg.dataset or f"{env_cfg.name}_shaping"
        self._dataset: Any = None
        if cfg.record and self.store.exists(self.dataset_name):
            self._recover()
        self.wants_frames = cfg.render or cfg.input == "keyboard"
        self.watching = True
        self.window: Any = None
        self.env: Any = None
        # Every step is buffered (the HUD counts them); with `record` it also reaches the journal at once.
        self.writer = EpisodeWriter(lambda: self.dataset, action_space, journal=cfg.record)
        self.clock = FixedRateClock(None)
        self._events: list[dict[str, Any]] = []
        self._started = ""
        self.good = self.bad = 0
        self.episodes_stored: list[str] = []

    # -- the store
    @property
    def dataset(self) -> Any:
        if self._dataset is None:
            self._dataset = dataset_for_env(
                self.store,
                self.dataset_name,
                self.env_cfg.id,
                self.env,
                f"live reward-shaping feedback (TAMER) on {self.env_cfg.id}",
            )
        return self._dataset

    def _recover(self) -> None:
        """Store what a killed session logged of its last watched episode (irlkit/store/journal.py)."""
        ids = self.store.open(self.dataset_name).recover()
        if ids:
            print(
                f"irlkit: recovered {len(ids)} unfinished shaping episode(s) that a stopped session left in "
                f"{self.dataset_name!r}",
                file=sys.stderr,
            )

    def _meta(self, events: list[dict[str, Any]]) -> EpisodeMeta:
        return EpisodeMeta(
            source=SOURCE,
            operator=self.operator,
            device=self.input.device,
            env_id=self.env_cfg.id,
            started_utc=self._started,
            ended_utc=utc_now(),
            extra={
                "kind": KIND,
                "events": events,
                "weight": self.cfg.weight,
                "credit_steps": self.cfg.credit_steps,
                "credit": self.cfg.credit,
            },
        )

    # -- FeedbackSource
    def attach(self, env: Any) -> None:
        """Env 0: the dataset's env, and the window's when one shows (opened here)."""
        from irlkit.teleop.window import Window, render_frame

        self.env = env
        fps = self.cfg.fps
        if fps is None and self.cfg.input == "keyboard":
            fps = render_fps(env)
        self.clock = FixedRateClock(fps)
        if not self.wants_frames:
            return
        if getattr(env, "render_mode", None) != "rgb_array":
            raise IrlkitError("feedback.render needs the training envs made with render_mode='rgb_array'")
        frame = render_frame(env, what=f"env {self.env_cfg.name!r}")
        self.window = Window(
            f"irlkit shaping – {self.env_cfg.name} ({self.env_cfg.id})",
            frame.shape,
            max_size=tuple(self.cfg.max_window),
            hud_lines=3,
        )
        if self.cfg.input == "keyboard":
            refuse_invisible_window(self.window, "shaping")

    def begin_episode(self, obs: np.ndarray) -> None:
        self.writer.reset(obs)
        self._events = []
        self._started = utc_now()
        self.writer.start(self._meta([]))

    def feedback(self, step: WatchedStep) -> list[float]:
        events: list[Any] = []
        if self.window is not None:
            events, _ = read_events(step.index, self.on_frame)  # a closed window is a quit too (below)
        elif self.on_frame is not None:
            self.on_frame(step.index)
        values = self.input.handle(events, step.next_obs, step.act)
        t = self.writer.steps
        for v in values:
            if v > 0:
                self.good += 1
            else:
                self.bad += 1
            self._events.append({"step": t, "value": float(v)})
        info = {"actor": "learner", "feedback": float(sum(values)) if values else None}
        self.writer.step(step.act, step.reward, step.next_obs, info)
        if self.window is not None:
            self._show(values, step.model_updates)
            self.clock.wait()
            if self.input.quit_requested(events):
                self.watching = False
        return values

    def end_episode(self, labels: Sequence[Optional[float]], *, terminated: bool, truncated: bool) -> None:
        if not self.writer.steps or not self.cfg.record:
            self.writer.abandon()
            return
        for info, label in zip(self.writer.infos, labels):
            info["label"] = label
        episode = self.writer.commit(self._meta(self._events), terminated=terminated, truncated=truncated)
        self.episodes_stored.append(episode.meta.episode_id)

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
            self.window = None

    def summary(self) -> dict[str, Any]:
        stored = self.episodes_stored
        return {
            "feedback_dataset": str(self.store.path_of(self.dataset_name)) if stored else None,
            "feedback_episodes": len(stored),
        }

    # -- the window
    def _show(self, last: list[float], model_updates: int) -> None:
        from irlkit.teleop.window import render_frame

        frame = render_frame(self.env, what=f"env {self.env_cfg.name!r}")
        said = "" if not last else ("  GOOD" if sum(last) > 0 else "  BAD")
        lines = [
            f"shaping – step {self.writer.steps}  good {self.good}  bad {self.bad}{said}",
            f"operator {self.operator} ({self.input.device})  model updates {model_updates}",
            "Up good  Down bad  Esc stop giving feedback (training goes on)",
        ]
        self.window.show(frame, lines, state="recording")


def make_feedback_source(algo_cfg: Any, cfg: ShapingFeedbackConfig, ctx: Any) -> WatchedEnvFeedback:
    """`feedback=shaping` (irlkit.train.HUMAN_INPUTS): who watches env 0; checked now, before PPO is built."""
    return WatchedEnvFeedback(cfg, ctx.env_cfg, observation_space=ctx.observation_space, action_space=ctx.action_space)
