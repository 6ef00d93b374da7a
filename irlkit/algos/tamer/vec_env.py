"""The shaped training VecEnv: TAMER's `weight * H(obs, act)` added to every env's reward.

`ShapingVecEnv` watches env 0 and asks a `FeedbackSource` (the protocol below: whoever watches and
presses good or bad) about each of its steps; presses go through the credit window
(`irlkit.algos.tamer.credit`) into the labelled steps the feedback model is fitted on
(`irlkit.algos.tamer.model`). The source is the human side, built above the algorithms and handed
down in `RunContext.human` (`irlkit.shaping.watch`: a person at the keyboard in a window, or the
scripted rule), and it keeps what was said: the wrapper tells it every watched episode's credited
labels when the episode ends.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Protocol, Sequence

import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

from irlkit.algos.tamer.credit import CreditAssigner, PendingStep
from irlkit.algos.tamer.model import FeedbackModel, OnlineFitter
from irlkit.errors import IrlkitError


@dataclasses.dataclass(frozen=True)
class WatchedStep:
    """One step of the watched env 0, as the feedback source sees it."""

    obs: np.ndarray
    """The observation the action was taken in."""
    act: np.ndarray
    """The action, as the env received it."""
    reward: float
    """The env's own reward for the step."""
    next_obs: np.ndarray
    """The observation it led to (the terminal one when the episode ended here)."""
    index: int
    """Watched steps so far, this one included (1 for the first)."""
    model_updates: int
    """Gradient batches the feedback model has had so far (for a window's HUD)."""


class FeedbackSource(Protocol):
    """The human side of TAMER: who watches env 0 and says good or bad, and keeps what was said.

    `irlkit.shaping.watch.WatchedEnvFeedback` is the one irlkit builds (`feedback=shaping`)."""

    wants_frames: bool
    """It shows env 0 in a window: the training envs must be made with render_mode='rgb_array'."""
    watching: bool
    """False once the person stopped giving feedback (Esc, a closed window); training goes on."""

    def attach(self, env: Any) -> None:
        """Env 0 of the training envs, once, before the first step (a window opens on it here)."""
        ...

    def begin_episode(self, obs: np.ndarray) -> None:
        """A watched episode starts at `obs`."""
        ...

    def feedback(self, step: WatchedStep) -> list[float]:
        """The presses given at this watched step (+1 good, -1 bad, or a scripted rule's values)."""
        ...

    def end_episode(self, labels: Sequence[Optional[float]], *, terminated: bool, truncated: bool) -> None:
        """The watched episode ended (or was cut short); `labels` are its steps' credited labels."""
        ...

    def close(self) -> None: ...

    def summary(self) -> dict[str, Any]:
        """Facts of the feedback kept, for eval.json (where it was stored)."""
        ...


class TamerSettings(Protocol):
    """What TAMER reads of the `feedback=shaping` config (`irlkit.shaping.config.ShapingFeedbackConfig`,
    where each is documented): the shaping weight, the credit window and the feedback model's fitting."""

    weight: float
    credit_steps: int
    credit: str
    credit_gamma: float
    silence: Optional[float]
    model_net_arch: list[int]
    model_lr: float
    train_every: int
    train_batches: int
    batch_size: int
    buffer_size: int


class ShapingVecEnv(VecEnvWrapper):
    """Adds `weight * H(obs, act)` to every env's reward; watches env 0 and learns H from feedback.

    `close_session()` stops watching: labels what is left, ends the episode in progress (truncated),
    closes the source and fits H once more; the VecEnv itself is left open."""

    def __init__(self, venv: Any, settings: TamerSettings, *, source: FeedbackSource, seed: int = 0):
        super().__init__(venv)
        self.settings = settings
        self.source = source
        self.model = FeedbackModel(venv.observation_space, venv.action_space, settings.model_net_arch)
        self.fitter = OnlineFitter(
            self.model,
            lr=settings.model_lr,
            buffer_size=settings.buffer_size,
            batch_size=settings.batch_size,
            seed=seed,
        )
        self.credit = CreditAssigner(
            settings.credit_steps, credit=settings.credit, gamma=settings.credit_gamma, silence=settings.silence
        )
        envs = getattr(venv, "envs", None)
        if envs is None:
            raise IrlkitError("feedback=shaping needs an in-process VecEnv (DummyVecEnv) to watch env 0")
        source.attach(envs[0])
        self.watching = True
        self._obs: Any = None  # the newest observations (and actions) of every env
        self._acts: Any = None
        self._labels: list[Optional[float]] = []
        """Credited labels of the watched episode's steps that left the credit window, in order."""
        self._episode = False
        self.watched_steps = 0
        self.events = {"good": 0, "bad": 0}
        self._since_fit = 0

    def _finalize(self, done: list[PendingStep]) -> None:
        for p in done:
            label = p.label(self.credit.silence)
            self._labels.append(None if label is None else float(label))
            if label is not None:
                self.fitter.add(p.obs, p.act, label)

    def _end_episode(self, *, terminated: bool, truncated: bool) -> None:
        self._finalize(self.credit.flush())
        labels, self._labels = self._labels, []
        if self._episode:
            self.source.end_episode(labels, terminated=terminated, truncated=truncated)
        self._episode = False

    def _begin_episode(self, obs0: np.ndarray) -> None:
        self.source.begin_episode(np.array(obs0, copy=True))
        self._episode = True

    # -- VecEnv
    def reset(self) -> Any:
        obs: Any = self.venv.reset()  # in-process envs: an array, one row per env
        self._obs = obs
        if self.watching:
            self._end_episode(terminated=False, truncated=True)
            self._begin_episode(obs[0])
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._acts = np.array(actions, copy=True)
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        obs: Any
        obs, rews, dones, infos = self.venv.step_wait()
        prev, acts = self._obs, self._acts
        assert prev is not None and acts is not None, "step before reset"
        if self.watching:
            self._watch(obs, rews, dones, infos, prev[0], acts[0])
        shaped = self.model.predict(prev, acts).astype(np.float32)
        for i in range(len(infos)):
            infos[i]["env_reward"] = float(rews[i])
            infos[i]["shaping"] = float(self.settings.weight * shaped[i])
        self._obs = obs
        return obs, rews + self.settings.weight * shaped, dones, infos

    def _watch(
        self,
        obs: np.ndarray,
        rews: np.ndarray,
        dones: np.ndarray,
        infos: list[dict[str, Any]],
        obs0: np.ndarray,
        act0: np.ndarray,
    ) -> None:
        if not self._episode:
            self._begin_episode(obs0)
        self.watched_steps += 1
        self._finalize(self.credit.step(np.array(obs0, copy=True), np.array(act0, copy=True)))
        new_obs = infos[0].get("terminal_observation", obs[0]) if dones[0] else obs[0]
        step = WatchedStep(
            obs=obs0,
            act=np.asarray(act0),
            reward=float(rews[0]),
            next_obs=new_obs,
            index=self.watched_steps,
            model_updates=self.fitter.updates,
        )
        for v in self.source.feedback(step):
            self.credit.press(v)
            self.events["good" if v > 0 else "bad"] += 1
        if not self.source.watching:
            self.close_session()
            return
        self._since_fit += 1
        if self._since_fit >= self.settings.train_every:
            self._since_fit = 0
            self.fitter.fit(self.settings.train_batches)
        if dones[0]:
            truncated = bool(infos[0].get("TimeLimit.truncated", False))
            self._end_episode(terminated=not truncated, truncated=truncated)
            self._begin_episode(obs[0])

    def close_session(self) -> None:
        """Stop watching env 0: label what is left, end the episode in progress, close the source."""
        if not self.watching:
            return
        self.watching = False
        self._end_episode(terminated=False, truncated=True)
        self.source.close()
        self.fitter.fit(self.settings.train_batches)

    def summary(self) -> dict[str, Any]:
        return {
            "feedback_good": self.events["good"],
            "feedback_bad": self.events["bad"],
            "feedback_labelled_steps": len(self.fitter.data),
            "feedback_model_updates": self.fitter.updates,
            "feedback_watched_steps": self.watched_steps,
            **self.source.summary(),
        }
