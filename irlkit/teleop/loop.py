"""What every window session shares: the fixed-rate clock, stop requests, and the episode writer.

The recorder (`irlkit.teleop.recorder`), the corrections window (`irlkit.corrections.session`),
playback (`irlkit.teleop.playback`) and the shaping window (`irlkit.shaping.watch`) all show an env
at a fixed rate, and all but playback store what happened as episodes. The pieces they share:

* `session_fps` and `irlkit.envs.render_fps`: the rate is the one asked for, else the env's own.
* `FixedRateClock`: paces frames on an absolute schedule, counting the frames a slow one missed.
* `StopSignals` and `read_events`: SIGINT, SIGTERM and a closed window become a clean stop at the
  next frame, so no commit is ever cut in half by KeyboardInterrupt.
* `EpisodeWriter`: the episode in progress, buffered, logged step by step to the store's journal when
  every step is someone's answer (`Dataset.start_episode`, `journal.append`), and committed
  atomically when it ends (`journal.commit`, or `Dataset.append_episode`).
* `refuse_invisible_window`: a person is never left waiting at a window SDL drew nowhere.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from typing import Any, Callable, Optional

import numpy as np
from gymnasium import spaces

from irlkit.envs import render_fps
from irlkit.errors import IrlkitError
from irlkit.store import Dataset, Episode, EpisodeMeta


def session_fps(env: Any, fps: Optional[float], *, what: str, option: str) -> float:
    """Steps per second of a session: `fps` when given, else the env's `render_fps`; an error names
    `option` (the setting to pass) when neither gives a positive rate."""
    if fps is not None and fps <= 0:
        raise IrlkitError(f"{option}={fps}: give a positive number of steps per second")
    rate = fps if fps is not None else render_fps(env, default=None)
    if rate is None or float(rate) <= 0:
        raise IrlkitError(f"{what} gives no render_fps; pass {option}=<steps per second>")
    return float(rate)


class FixedRateClock:
    """Paces frames at `fps` on an absolute schedule.

    A frame that comes late is followed by one that comes early, so the average rate holds; when a
    whole period or more was missed the schedule restarts from now instead of rushing to catch up.
    With `realtime=False` (or no rate) it never sleeps: tests and benchmarks run as fast as they can."""

    def __init__(self, fps: Optional[float], *, realtime: bool = True):
        self.period = 1.0 / float(fps) if fps and realtime else 0.0
        self._deadline = time.perf_counter()

    def wait(self) -> int:
        """Sleep until the next frame is due; returns how many whole frames were missed (0 on time)."""
        if not self.period:
            return 0
        self._deadline += self.period
        wait = self._deadline - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
            return 0
        missed = int(-wait // self.period)
        if missed:
            self._deadline = time.perf_counter()
        return missed


class StopSignals:
    """SIGINT and SIGTERM turned into a request to stop at the next frame; a second Ctrl-C raises
    KeyboardInterrupt at once (the person really wants out). Handlers can only be installed from the
    main thread; elsewhere the signals keep their usual meaning."""

    def __init__(self) -> None:
        self.received: Optional[int] = None
        self._installed: dict[signal.Signals, Any] = {}

    def install(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread() and not self._installed:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._installed[sig] = signal.signal(sig, self._on_signal)
        return self

    def restore(self) -> None:
        for sig, handler in self._installed.items():
            signal.signal(sig, handler)
        self._installed = {}

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum

    @property
    def reason(self) -> Optional[str]:
        """`SIGINT` or `SIGTERM` once one arrived, else None."""
        return signal.Signals(self.received).name if self.received is not None else None


def read_events(
    status: Any, on_frame: Optional[Callable[[Any], None]], signals: Optional[StopSignals] = None
) -> tuple[list[Any], Optional[str]]:
    """One frame's input: run the frame hook (tests post pygame events from it), take pygame's events,
    and say why the session must stop now (`window closed`, `SIGINT`, `SIGTERM`), or None."""
    import pygame

    if on_frame is not None:
        on_frame(status)
    events = pygame.event.get()
    if any(e.type == pygame.QUIT for e in events):
        return events, "window closed"
    return events, signals.reason if signals is not None else None


def refuse_invisible_window(window: Any, what: str) -> None:
    """Without a display SDL quietly falls back to its `offscreen` driver, and a person would wait for
    a window that never shows. Close it and say so (a driver chosen on purpose with SDL_VIDEODRIVER,
    such as `dummy` for tests, is left alone)."""
    import pygame

    from irlkit.teleop.window import NO_DISPLAY_HINT

    if pygame.display.get_driver() == "offscreen" and not os.environ.get("SDL_VIDEODRIVER"):
        window.close()
        raise IrlkitError(f"no display to show the {what} window on. {NO_DISPLAY_HINT}")


@dataclasses.dataclass
class _Buffer:
    obs: list[np.ndarray]
    acts: list[Any] = dataclasses.field(default_factory=list)
    rews: list[float] = dataclasses.field(default_factory=list)
    infos: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    ret: float = 0.0


class EpisodeWriter:
    """The episode in progress of a session, written through the store.

    `reset(obs)` begins an episode at its first observation, `start(meta)` says who records it once
    that is known (the journal's header), `step(...)` adds a step, and `commit(...)` stores the
    finished episode atomically, or `abandon()` drops it. With `journal=True` every step also reaches
    the dataset's journal as it is taken, so a killed session loses no step (corrections and shaping:
    every step is someone's answer); the recorder keeps it off: a demonstration cut short is not
    one, and a stopped or killed recorder leaves a dataset of whole episodes with nothing to recover.
    `dataset` is called at the first write, so a session that stores nothing leaves nothing."""

    def __init__(self, dataset: Callable[[], Dataset], action_space: spaces.Space, *, journal: bool = False):
        self._dataset = dataset
        self.action_space = action_space
        self.journal = journal
        self._buf = _Buffer(obs=[])
        self._meta: Optional[EpisodeMeta] = None
        self._journal: Any = None

    @property
    def steps(self) -> int:
        """Steps of the episode in progress."""
        return len(self._buf.acts)

    @property
    def episode_return(self) -> float:
        return self._buf.ret

    @property
    def infos(self) -> list[dict[str, Any]]:
        """The step infos so far (the same dicts that will be stored: a caller may complete them)."""
        return self._buf.infos

    def reset(self, obs: Any) -> None:
        """A new episode from `obs`; an unfinished one is dropped."""
        self.abandon()
        self._buf = _Buffer(obs=[np.array(obs, copy=True)])

    def start(self, meta: EpisodeMeta) -> None:
        """Who records this episode, for the journal's header (the commit gives the final metadata)."""
        self._meta = meta

    def step(self, act: Any, rew: float, next_obs: Any, info: Optional[dict[str, Any]] = None) -> None:
        """One step: the action taken, its reward, the observation it led to, its info (if any)."""
        buf = self._buf
        buf.acts.append(act)
        buf.rews.append(float(rew))
        buf.ret += float(rew)
        buf.obs.append(np.array(next_obs, copy=True))
        if info is not None:
            buf.infos.append(info)
        if self.journal:
            if self._journal is None:
                if self._meta is None:
                    raise RuntimeError("EpisodeWriter.start(meta) must come before a journalled episode's first step")
                self._journal = self._dataset().start_episode(buf.obs[0], self._meta)
            self._journal.append(act, rew, next_obs, info)

    def commit(self, meta: EpisodeMeta, *, terminated: bool, truncated: bool) -> Episode:
        """Store the episode in progress (with `meta`) and return it, its id in `meta.episode_id`."""
        buf = self._buf
        episode = Episode(
            obs=np.stack(buf.obs),
            acts=self._acts_array(buf.acts),
            rews=np.asarray(buf.rews, dtype=np.float64),
            terminated=bool(terminated),
            truncated=bool(truncated),
            infos=list(buf.infos) if buf.infos else None,
            meta=meta,
        )
        journal, self._journal = self._journal, None
        if journal is not None:
            episode_id = journal.commit(episode)
        else:
            episode_id = self._dataset().append_episode(episode)
        episode.meta = dataclasses.replace(episode.meta, episode_id=episode_id)
        self._buf = _Buffer(obs=[])
        self._meta = None
        return episode

    def abandon(self) -> None:
        """Drop the episode in progress (its journal too)."""
        journal, self._journal = self._journal, None
        if journal is not None:
            journal.abandon()
        self._buf = _Buffer(obs=[])
        self._meta = None

    def _acts_array(self, acts: list[Any]) -> np.ndarray:
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            return np.asarray(acts, dtype=np.int64).reshape(len(acts))
        return np.asarray(acts, dtype=space.dtype).reshape(len(acts), *(space.shape or ()))
