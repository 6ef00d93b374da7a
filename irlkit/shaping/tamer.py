"""TAMER-style live reward shaping (Knox & Stone 2009) around an SB3 VecEnv.

Pieces, each replaceable:

* feedback inputs: `KeyboardFeedback` (Up = good, Down = bad, read from the pygame events of the
  training window) and `ScriptedFeedback` (a `RuleConfig` deciding from the observation, and the
  action when the rule asks); both answer `handle(events, obs, act) -> [values]`, so the scripted
  person uses the person's input path.
* `CreditAssigner`: a press at step t is credited to steps t, t-1, ... t-k+1 of the watched env
  (uniform or gamma-decayed weights, never across an episode's start); a step's label is the
  credit-weighted mean of the presses that reached it, and steps no press reached get `silence`.
* `FeedbackModel`: a small MLP (obs, act) -> feedback, fitted online on the labelled steps.
* `ShapingVecEnv`: the training VecEnv with `weight * model(obs, act)` added to every env's reward;
  it watches env 0 (rendered in a window when asked), collects feedback and stores every watched
  episode in the demos store (source `correction`) with one info dict per step:

      {"actor": "learner",          # the agent drove (so HG-DAgger never reads these as labels)
       "feedback": +1 | -1 | null,  # the press given at this step (summed if several)
       "label": float | null}       # the credited label the model was fitted on

  and `meta.extra = {"kind": "shaping", "events": [{"step", "value"}...], ...}`. Episodes are
  committed atomically by the store when they end (or, cut short, when training stops).
  `feedback_events(dataset)` and `feedback_samples(dataset)` read them back.
"""

from __future__ import annotations

import collections
import os
import time
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnvWrapper

from irlkit.errors import IrlkitError
from irlkit.shaping.config import CREDITS, INPUTS, RuleConfig, ShapingFeedbackConfig
from irlkit.store import DemoStore, Episode, EpisodeMeta, check_operator, utc_now

KIND = "shaping"
SOURCE = "correction"
GOOD, BAD = 1.0, -1.0


# ---- inputs ---------------------------------------------------------------------------------
class FeedbackInput:
    """One source of good/bad feedback on the watched env."""

    device: str = "unknown"

    def handle(self, events: Sequence[Any], obs: np.ndarray, act: Optional[np.ndarray] = None) -> list[float]:
        """This frame's pygame events, env 0's newest observation and the action that led to it
        -> feedback values given now."""
        raise NotImplementedError

    def quit_requested(self, events: Sequence[Any]) -> bool:
        import pygame

        return any(e.type == pygame.QUIT or (e.type == pygame.KEYDOWN and e.key == pygame.K_ESCAPE) for e in events)


class KeyboardFeedback(FeedbackInput):
    """Up arrow (or +) = good, Down arrow (or -) = bad."""

    device = "keyboard"

    def handle(self, events: Sequence[Any], obs: np.ndarray, act: Optional[np.ndarray] = None) -> list[float]:
        import pygame

        good = {pygame.K_UP, pygame.K_PLUS, pygame.K_KP_PLUS}
        bad = {pygame.K_DOWN, pygame.K_MINUS, pygame.K_KP_MINUS}
        out: list[float] = []
        for e in events:
            if e.type == pygame.KEYDOWN and e.key in good:
                out.append(GOOD)
            elif e.type == pygame.KEYDOWN and e.key in bad:
                out.append(BAD)
        return out


class ScriptedFeedback(FeedbackInput):
    """A rule from config in the person's seat (tests, benchmarks, the seed's position bonus).

    Checked against the env's spaces when they are given (as `ShapingVecEnv` does), so a bad index
    fails at start, not at the first step."""

    def __init__(self, rule: RuleConfig, observation_space: Optional[spaces.Space] = None,
                 action_space: Optional[spaces.Space] = None):
        if rule.above is None and rule.below is None:
            raise IrlkitError("feedback.rule needs `above` or `below` (e.g. rule.above=0.45 on obs[rule.obs_index])")
        if rule.above is not None and rule.below is not None and rule.above >= rule.below:
            raise IrlkitError(f"feedback.rule.above={rule.above} >= rule.below={rule.below}: the rule could never "
                              "hold; give above < below, or only one of them")
        if rule.every < 1:
            raise IrlkitError(f"feedback.rule.every={rule.every}: at least 1 (steps between presses)")
        if observation_space is not None:
            n_obs = int(np.prod(observation_space.shape or (0,)))
            if not 0 <= rule.obs_index < n_obs:
                raise IrlkitError(f"feedback.rule.obs_index={rule.obs_index}: the observation has {n_obs} "
                                  f"entries (0..{n_obs - 1})")
        if rule.action_index is not None and action_space is not None:
            if not isinstance(action_space, spaces.Box):
                raise IrlkitError(f"feedback.rule.action_index={rule.action_index}: needs a continuous (Box) action "
                                  f"space, this env's is {action_space}; leave action_index unset")
            n_act = int(np.prod(action_space.shape))
            if not 0 <= rule.action_index < n_act:
                raise IrlkitError(f"feedback.rule.action_index={rule.action_index}: the action has {n_act} "
                                  f"entries (0..{n_act - 1})")
        self.rule = rule
        self.device = "script:rule"
        self._since = rule.every

    def value(self, obs: np.ndarray, act: Optional[np.ndarray] = None) -> float:
        """The number the rule thresholds: obs[obs_index], times act[action_index] when set."""
        x = float(np.asarray(obs).reshape(-1)[self.rule.obs_index])
        if self.rule.action_index is not None:
            if act is None:
                raise IrlkitError("feedback.rule.action_index is set but no action was given to the rule")
            x *= float(np.asarray(act, dtype=np.float64).reshape(-1)[self.rule.action_index])
        return x

    def holds(self, obs: np.ndarray, act: Optional[np.ndarray] = None) -> bool:
        x = self.value(obs, act)
        ok = True
        if self.rule.above is not None:
            ok = ok and x > self.rule.above
        if self.rule.below is not None:
            ok = ok and x < self.rule.below
        return ok

    def handle(self, events: Sequence[Any], obs: np.ndarray, act: Optional[np.ndarray] = None) -> list[float]:
        self._since += 1
        if self._since < self.rule.every:
            return []
        value = self.rule.good if self.holds(obs, act) else self.rule.otherwise
        if value is None:
            return []
        self._since = 0
        return [float(value)]


def make_input(cfg: ShapingFeedbackConfig, observation_space: Optional[spaces.Space] = None,
               action_space: Optional[spaces.Space] = None) -> FeedbackInput:
    if cfg.input not in INPUTS:
        raise IrlkitError(f"feedback.input={cfg.input!r}: choose one of {', '.join(INPUTS)}")
    if cfg.input == "keyboard":
        return KeyboardFeedback()
    return ScriptedFeedback(cfg.rule, observation_space, action_space)


# ---- credit ---------------------------------------------------------------------------------
class _Pending:
    __slots__ = ("obs", "act", "wv", "w", "pressed", "info")

    def __init__(self, obs: np.ndarray, act: np.ndarray):
        self.obs, self.act, self.wv, self.w, self.pressed = obs, act, 0.0, 0.0, None
        self.info: Optional[dict[str, Any]] = None

    def label(self, silence: Optional[float]) -> Optional[float]:
        return self.wv / self.w if self.w > 0 else silence


class CreditAssigner:
    """Credits presses to the last `k` steps of the watched episode; finished steps go to `emit`."""

    def __init__(self, k: int, *, credit: str = "uniform", gamma: float = 0.8, silence: Optional[float] = 0.0):
        if k < 1:
            raise IrlkitError(f"feedback.credit_steps={k}: at least 1")
        if credit not in CREDITS:
            raise IrlkitError(f"feedback.credit={credit!r}: choose one of {', '.join(CREDITS)}")
        self.weights = np.ones(k) if credit == "uniform" else gamma ** np.arange(k)
        self.silence = silence
        self.window: collections.deque[_Pending] = collections.deque()

    def step(self, obs: np.ndarray, act: np.ndarray) -> list[_Pending]:
        """A new watched step; returns the steps that left the credit window (now final)."""
        self.window.append(_Pending(obs, act))
        out = []
        while len(self.window) > len(self.weights):
            out.append(self.window.popleft())
        return out

    def press(self, value: float) -> None:
        """Feedback given now: credit the newest step and the k - 1 before it."""
        if not self.window:
            return
        newest = self.window[-1]
        newest.pressed = value if newest.pressed is None else newest.pressed + value
        for j, p in enumerate(reversed(self.window)):
            p.wv += self.weights[j] * value
            p.w += self.weights[j]

    def flush(self) -> list[_Pending]:
        """The episode ended: every step in the window is final."""
        out = list(self.window)
        self.window.clear()
        return out


# ---- the model ------------------------------------------------------------------------------
class FeedbackModel(th.nn.Module):
    """H(s, a): a small MLP predicting the person's feedback, on observations scaled by the space's bounds."""

    def __init__(self, observation_space: spaces.Box, action_space: spaces.Space, net_arch: Sequence[int]):
        super().__init__()
        low = np.where(np.isfinite(observation_space.low), observation_space.low, -1.0)
        high = np.where(np.isfinite(observation_space.high), observation_space.high, 1.0)
        self.register_buffer("low", th.as_tensor(low.reshape(-1), dtype=th.float32))
        self.register_buffer("span", th.as_tensor(np.maximum(high - low, 1e-8).reshape(-1), dtype=th.float32))
        self.discrete = isinstance(action_space, spaces.Discrete)
        self.n_act = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        layers: list[th.nn.Module] = []
        size = self.low.numel() + self.n_act
        for h in net_arch:
            layers += [th.nn.Linear(size, h), th.nn.Tanh()]
            size = h
        last = th.nn.Linear(size, 1)
        th.nn.init.zeros_(last.weight)
        th.nn.init.zeros_(last.bias)
        self.net = th.nn.Sequential(*layers, last)

    def forward(self, obs: th.Tensor, act: th.Tensor) -> th.Tensor:
        x = 2.0 * (obs.reshape(len(obs), -1).float() - self.low) / self.span - 1.0
        if self.discrete:
            a = th.nn.functional.one_hot(act.reshape(-1).long(), self.n_act).float()
        else:
            a = act.reshape(len(act), -1).float()
        return self.net(th.cat([x, a], dim=1)).squeeze(1)

    @th.no_grad()
    def predict(self, obs: np.ndarray, act: np.ndarray) -> np.ndarray:
        return self(th.as_tensor(np.asarray(obs)), th.as_tensor(np.asarray(act))).numpy()


class OnlineFitter:
    """The labelled steps (most recent `buffer_size`) and a few Adam steps on them when asked."""

    def __init__(self, model: FeedbackModel, *, lr: float, buffer_size: int, batch_size: int, seed: int):
        self.model = model
        self.opt = th.optim.Adam(model.parameters(), lr=lr)
        self.data: collections.deque[tuple[np.ndarray, np.ndarray, float]] = collections.deque(maxlen=buffer_size)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.updates = 0
        self.last_loss: Optional[float] = None

    def add(self, obs: np.ndarray, act: np.ndarray, label: float) -> None:
        self.data.append((obs, act, float(label)))

    def fit(self, batches: int) -> Optional[float]:
        if not self.data:
            return None
        for _ in range(batches):
            idx = self.rng.integers(0, len(self.data), size=min(self.batch_size, len(self.data)))
            obs = th.as_tensor(np.stack([self.data[i][0] for i in idx]))
            act = th.as_tensor(np.stack([np.asarray(self.data[i][1]) for i in idx]))
            y = th.as_tensor([self.data[i][2] for i in idx], dtype=th.float32)
            loss = th.nn.functional.mse_loss(self.model(obs, act), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.updates += 1
            self.last_loss = float(loss.detach())
        return self.last_loss


# ---- the wrapper ----------------------------------------------------------------------------
class ShapingVecEnv(VecEnvWrapper):
    """Adds `weight * H(obs, act)` to every env's reward; watches env 0 and learns H from feedback.

    `on_frame(watched_step)` runs before each watched step's events are read (tests post pygame
    events from it). `close_session()` stops watching: commits the episode in progress (truncated)
    and closes the window; the VecEnv itself is left open."""

    def __init__(
        self,
        venv: Any,
        cfg: ShapingFeedbackConfig,
        *,
        env_cfg: Any,
        seed: int = 0,
        store: Optional[DemoStore] = None,
        on_frame: Optional[Callable[[int], None]] = None,
        device_input: Optional[FeedbackInput] = None,
    ):
        super().__init__(venv)
        self.cfg = cfg
        self.env_cfg = env_cfg
        self.input = (device_input if device_input is not None
                      else make_input(cfg, venv.observation_space, venv.action_space))
        operator = cfg.operator or ("rule" if cfg.input == "scripted" else None)
        if operator is None:
            raise IrlkitError("feedback=shaping with input=keyboard needs operator=<your alias> (stored with every press)")
        self.operator = check_operator(operator)
        self.model = FeedbackModel(venv.observation_space, venv.action_space, cfg.model_net_arch)
        self.fitter = OnlineFitter(self.model, lr=cfg.model_lr, buffer_size=cfg.buffer_size,
                                   batch_size=cfg.batch_size, seed=seed)
        self.credit = CreditAssigner(cfg.credit_steps, credit=cfg.credit, gamma=cfg.credit_gamma, silence=cfg.silence)
        self.on_frame = on_frame
        self.store = store if store is not None else DemoStore(cfg.store_root)
        self.dataset_name = cfg.dataset or f"{env_cfg.name}_shaping"
        self._dataset: Any = None
        self._journal: Any = None  # the watched episode in progress, logged step by step
        if cfg.record and self.store.exists(self.dataset_name):
            self._recover()
        self.window: Any = None
        self.watching = True
        self.render = cfg.render or cfg.input == "keyboard"
        if self.render:
            self._open_window()
        fps = cfg.fps
        if fps is None and cfg.input == "keyboard":
            fps = self._env0().metadata.get("render_fps") or 30
        self.period = 1.0 / float(fps) if fps else 0.0
        self._deadline = time.perf_counter()
        self._obs: Optional[np.ndarray] = None
        self._acts: Optional[np.ndarray] = None
        self._ep: Optional[dict[str, Any]] = None
        self.watched_steps = 0
        self.events = {"good": 0, "bad": 0}
        self.episodes_stored: list[str] = []
        self._since_fit = 0

    # -- env 0 and the window
    def _env0(self) -> Any:
        envs = getattr(self.venv, "envs", None)
        if envs is None:
            raise IrlkitError("feedback=shaping needs an in-process VecEnv (DummyVecEnv) to watch env 0")
        return envs[0]

    def _open_window(self) -> None:
        import pygame

        from irlkit.teleop.window import NO_DISPLAY_HINT, Window, render_frame

        env = self._env0()
        if getattr(env, "render_mode", None) != "rgb_array":
            raise IrlkitError("feedback.render needs the training envs made with render_mode='rgb_array'")
        frame = render_frame(env, what=f"env {self.env_cfg.name!r}")
        self.window = Window(f"irlkit shaping – {self.env_cfg.name} ({self.env_cfg.id})", frame.shape,
                             max_size=tuple(self.cfg.max_window), hud_lines=3)
        if self.cfg.input == "keyboard" and pygame.display.get_driver() == "offscreen" and not os.environ.get("SDL_VIDEODRIVER"):
            self.window.close()
            raise IrlkitError(f"no display to show the shaping window on. {NO_DISPLAY_HINT}")

    def _show(self, last: list[float]) -> None:
        from irlkit.teleop.window import render_frame

        frame = render_frame(self._env0(), what=f"env {self.env_cfg.name!r}")
        ep = self._ep or {}
        said = "" if not last else ("  GOOD" if sum(last) > 0 else "  BAD")
        lines = [
            f"shaping – step {ep.get('t', 0)}  good {self.events['good']}  bad {self.events['bad']}{said}",
            f"operator {self.operator} ({self.input.device})  model updates {self.fitter.updates}",
            "Up good  Down bad  Esc stop giving feedback (training goes on)",
        ]
        self.window.show(frame, lines, state="recording")

    # -- the store
    @property
    def dataset(self) -> Any:
        if self._dataset is None:
            from irlkit.envs import dataset_for_env

            self._dataset = dataset_for_env(self.store, self.dataset_name, self.env_cfg.id, self._env0(),
                                            f"live reward-shaping feedback (TAMER) on {self.env_cfg.id}")
        return self._dataset

    def _recover(self) -> None:
        """Store what a killed session logged of its last watched episode (irlkit/store/journal.py)."""
        import sys

        ids = self.store.open(self.dataset_name).recover()
        if ids:
            print(f"irlkit: recovered {len(ids)} unfinished shaping episode(s) that a stopped session left in "
                  f"{self.dataset_name!r}", file=sys.stderr)

    def _meta(self, ep: dict[str, Any]) -> EpisodeMeta:
        return EpisodeMeta(
            source=SOURCE, operator=self.operator, device=self.input.device, env_id=self.env_cfg.id,
            started_utc=ep["started"], ended_utc=utc_now(),
            extra={"kind": KIND, "events": ep["events"], "weight": self.cfg.weight,
                   "credit_steps": self.cfg.credit_steps, "credit": self.cfg.credit},
        )

    def _log_step(self, ep: dict[str, Any], act: np.ndarray, rew: float, new_obs: np.ndarray,
                  info: dict[str, Any]) -> None:
        """Every watched step reaches the store's journal at once, with the press given at it, so a
        killed session loses no feedback (the credited label is derived later and not logged)."""
        if not self.cfg.record:
            return
        if self._journal is None:
            self._journal = self.dataset.start_episode(ep["obs"][0], self._meta(ep))
        self._journal.append(act, rew, new_obs, {k: v for k, v in info.items() if k != "label"})

    def _new_episode(self, obs0: np.ndarray) -> None:
        self._ep = {"obs": [np.array(obs0, copy=True)], "acts": [], "rews": [], "infos": [], "events": [],
                    "t": 0, "started": utc_now()}

    def _commit(self, *, terminated: bool, truncated: bool, last_obs: Optional[np.ndarray] = None) -> None:
        ep, self._ep = self._ep, None
        journal, self._journal = self._journal, None
        if ep is None or not ep["acts"] or not self.cfg.record:
            if journal is not None:
                journal.abandon()
            return
        if last_obs is not None:
            ep["obs"].append(np.array(last_obs, copy=True))
        space = self.action_space
        acts = (np.asarray(ep["acts"], dtype=np.int64).reshape(-1) if isinstance(space, spaces.Discrete)
                else np.asarray(ep["acts"], dtype=space.dtype).reshape(len(ep["acts"]), *space.shape))
        episode = Episode(obs=np.stack(ep["obs"]), acts=acts, rews=np.asarray(ep["rews"], dtype=np.float64),
                          terminated=terminated, truncated=truncated, infos=ep["infos"], meta=self._meta(ep))
        stored = journal.commit(episode) if journal is not None else self.dataset.append_episode(episode)
        self.episodes_stored.append(stored)

    def _finalize(self, done: list[_Pending]) -> None:
        for p in done:
            label = p.label(self.credit.silence)
            if p.info is not None:
                p.info["label"] = None if label is None else float(label)
            if label is not None:
                self.fitter.add(p.obs, p.act, label)

    # -- VecEnv
    def reset(self) -> Any:
        obs = self.venv.reset()
        self._obs = obs
        if self.watching:
            self._finalize(self.credit.flush())
            self._commit(terminated=False, truncated=True)
            self._new_episode(obs[0])
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._acts = np.array(actions, copy=True)
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        obs, rews, dones, infos = self.venv.step_wait()
        prev, acts = self._obs, self._acts
        assert prev is not None and acts is not None, "step before reset"
        if self.watching:
            self._watch(obs, rews, dones, infos, prev[0], acts[0])
        shaped = self.model.predict(prev, acts).astype(np.float32)
        for i in range(len(infos)):
            infos[i]["env_reward"] = float(rews[i])
            infos[i]["shaping"] = float(self.cfg.weight * shaped[i])
        self._obs = obs
        return obs, rews + self.cfg.weight * shaped, dones, infos

    def _watch(self, obs, rews, dones, infos, obs0, act0) -> None:
        if self._ep is None:
            self._new_episode(obs0)
        ep = self._ep
        assert ep is not None
        self.watched_steps += 1
        ep["acts"].append(np.asarray(act0))
        ep["rews"].append(float(rews[0]))
        info = {"actor": "learner", "feedback": None, "label": None}
        ep["infos"].append(info)
        finished = self.credit.step(np.array(obs0, copy=True), np.array(act0, copy=True))
        self.credit.window[-1].info = info
        self._finalize(finished)
        new_obs = infos[0].get("terminal_observation", obs[0]) if dones[0] else obs[0]
        if not dones[0]:
            ep["obs"].append(np.array(obs[0], copy=True))
        events: list[Any] = []
        if self.window is not None:
            import pygame

            if self.on_frame is not None:
                self.on_frame(self.watched_steps)
            events = pygame.event.get()
        elif self.on_frame is not None:
            self.on_frame(self.watched_steps)
        values = self.input.handle(events, new_obs, act0)
        for v in values:
            self.credit.press(v)
            self.events["good" if v > 0 else "bad"] += 1
            ep["events"].append({"step": ep["t"], "value": float(v)})
        if values:
            info["feedback"] = float(sum(values))
        self._log_step(ep, act0, float(rews[0]), new_obs, info)
        ep["t"] += 1
        if self.window is not None:
            self._show(values)
            if self.period:
                self._deadline = max(self._deadline + self.period, time.perf_counter())
                time.sleep(max(0.0, self._deadline - time.perf_counter()))
            if self.input.quit_requested(events):
                self.close_session()
                return
        self._since_fit += 1
        if self._since_fit >= self.cfg.train_every:
            self._since_fit = 0
            self.fitter.fit(self.cfg.train_batches)
        if dones[0]:
            self._finalize(self.credit.flush())
            truncated = bool(infos[0].get("TimeLimit.truncated", False))
            self._commit(terminated=not truncated, truncated=truncated, last_obs=new_obs)
            self._new_episode(obs[0])

    def close_session(self) -> None:
        """Stop watching env 0: label what is left, store the episode in progress, close the window."""
        if not self.watching:
            return
        self.watching = False
        self._finalize(self.credit.flush())
        self._commit(terminated=False, truncated=True)
        if self.window is not None:
            self.window.close()
            self.window = None
        self.fitter.fit(self.cfg.train_batches)

    def summary(self) -> dict[str, Any]:
        return {
            "feedback_good": self.events["good"],
            "feedback_bad": self.events["bad"],
            "feedback_labelled_steps": len(self.fitter.data),
            "feedback_model_updates": self.fitter.updates,
            "feedback_watched_steps": self.watched_steps,
            "feedback_dataset": str(self.store.path_of(self.dataset_name)) if self.episodes_stored else None,
            "feedback_episodes": len(self.episodes_stored),
        }


# ---- reading feedback back ------------------------------------------------------------------
def _shaping_view(dataset: Any, operator: Optional[Iterable[str] | str]) -> Any:
    ops = [operator] if isinstance(operator, str) else (list(operator) if operator is not None else None)
    return dataset.select(source=[SOURCE], operator=ops, where=lambda m: m.extra.get("kind") == KIND)


def feedback_events(dataset: Any, *, operator: Optional[Iterable[str] | str] = None) -> list[dict[str, Any]]:
    """Every stored press: {episode_id, step, value, operator, device}, in commit order."""
    out = []
    view = _shaping_view(dataset, operator)
    for k, m in enumerate(view.metas):
        events = m.extra.get("events", [])
        if m.extra.get("recovered"):  # cut short by a kill: the presses are in the logged steps' infos
            infos = view.episode(k).infos or []
            events = [{"step": t, "value": i["feedback"]} for t, i in enumerate(infos) if i.get("feedback") is not None]
        for e in events:
            out.append({"episode_id": m.episode_id, "step": int(e["step"]), "value": float(e["value"]),
                        "operator": m.operator, "device": m.device})
    return out


def feedback_samples(dataset: Any, *, operator: Optional[Iterable[str] | str] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The labelled steps of stored shaping episodes (obs, acts, labels): to refit a feedback model offline."""
    obs, acts, labels = [], [], []
    for ep in _shaping_view(dataset, operator).episodes():
        for t, info in enumerate(ep.infos or []):
            if info.get("label") is not None:
                obs.append(ep.obs[t])
                acts.append(ep.acts[t])
                labels.append(float(info["label"]))
    if not obs:
        return (np.zeros((0, *dataset.observation_space.shape), dtype=np.float32),
                np.zeros((0, *dataset.action_space.shape)), np.zeros((0,)))
    return np.stack(obs), np.stack(acts), np.asarray(labels)
