"""The teleop recorder: a fixed-rate loop that steps the env, shows it, and stores each episode.

Why our own loop rather than `gymnasium.utils.play`: play() reuses one seed for every reset, hands
its callback an `(obs, info)` tuple on the first step, forces matplotlib's TkAgg backend, and its
MountainCar key map uses pygame-1 key codes. The flow follows LeRobot's recorder instead: an
unrecorded waiting phase before each episode, keys to keep, re-record and stop.

Every finished episode is committed to the store at once (an atomic segment), so Ctrl-C, a closed
window, SIGTERM or even SIGKILL lose at most the episode in progress. SIGINT and SIGTERM are turned
into a clean stop at the next frame, so no commit is ever cut in half by KeyboardInterrupt. The
clock, the stop signals and the episode writer are the ones every window session shares
(`irlkit.teleop.loop`).

The recorder takes plain dataclasses; the Hydra entry `python -m irlkit.record` builds them.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import time
from typing import Any, Callable, Optional

import numpy as np

from irlkit.envs import EnvConfig, dataset_for_env, make_env
from irlkit.errors import IrlkitError
from irlkit.store import Dataset, DemoStore, EpisodeMeta, check_operator, shipped_demos_dir, utc_now
from irlkit.teleop.inputs import (
    CONTROL_LEGEND,
    Control,
    GamepadInput,
    InputDevice,
    KeyboardInput,
    RecorderState,
    Status,
)
from irlkit.teleop.keymap import parse_keymap
from irlkit.teleop.loop import EpisodeWriter, FixedRateClock, StopSignals, read_events, session_fps
from irlkit.teleop.window import Window, init_display, render_frame

log = logging.getLogger("irlkit.teleop")

INPUTS = ("keyboard", "gamepad")


@dataclasses.dataclass
class RecorderConfig:
    """One recording session."""

    env: EnvConfig
    """The env to drive, including its `teleop` key map."""
    dataset: str
    """Dataset name in the store root, or a path; created when missing (its spaces must match)."""
    operator: str
    """Pseudonym of the person at the controls (never a real name)."""
    episodes: int = 5
    """Episodes to keep before the recorder stops by itself."""
    fps: Optional[float] = None
    """Steps per second; default the env's `render_fps`."""
    input: str = "keyboard"
    """keyboard or gamepad (ignored when a device object is passed to `Recorder`)."""
    seed: Optional[int] = None
    """Seeds the generator of per-episode seeds; None draws fresh entropy. Each episode's own
    seed is stored either way, so every episode can be replayed."""
    store_root: Optional[str] = None
    """Root folder of the demos store; None uses IRLKIT_DEMOS or the default root."""
    description: str = ""
    """Description for a dataset created by this session."""
    source: str = "teleop"
    """Stored provenance; `teleop` for a person, `script` or `correction` for other loops."""
    keep_discarded: bool = False
    """Store re-recorded and discarded attempts too, flagged `discarded` (loaders skip them)."""
    realtime: bool = True
    """False steps as fast as possible (tests, benchmarks); the stored fps stays `fps`."""
    max_window: tuple[int, int] = (960, 640)
    """Largest window size in pixels; frames are scaled to fit."""


@dataclasses.dataclass
class RecordingSummary:
    """What a session did, for the entry's closing message and for benchmarks."""

    dataset: str
    kept: list[str] = dataclasses.field(default_factory=list)
    discarded: int = 0
    frames_dropped: int = 0
    stopped_by: str = "done"
    """done, quit (Esc), window closed, SIGINT or SIGTERM."""
    lost_steps: int = 0
    """Steps of the episode in progress when the session stopped (not stored)."""
    fps: float = 0.0
    timings: dict[str, list[float]] = dataclasses.field(
        default_factory=lambda: {"frame": [], "step": [], "render": [], "record": [], "commit": []}
    )
    """Seconds per frame of work (before sleeping), per env.step, per render+draw, per recording
    bookkeeping (action lookup + buffering), and per commit."""


def _make_render_env(cfg: EnvConfig) -> Any:
    try:
        return make_env(cfg, render_mode="rgb_array")
    except IrlkitError as err:
        try:
            plain = make_env(cfg)
        except IrlkitError:
            raise err from None
        modes = plain.metadata.get("render_modes", [])
        plain.close()
        raise IrlkitError(
            f"env {cfg.name!r} ({cfg.id}) cannot render frames: it offers render modes {modes}, and teleop "
            "needs 'rgb_array'. Record on an env that renders, or wrap this one so it does."
        ) from None


class Recorder:
    """Drives an env at a fixed rate from an input device and commits every finished episode.

    `on_frame(status)` is called at the start of every frame, before the frame's events are read:
    tests post pygame events from it, and other tools can watch progress.
    """

    def __init__(
        self,
        config: RecorderConfig,
        *,
        device: Optional[InputDevice] = None,
        on_frame: Optional[Callable[[Status], None]] = None,
        store: Optional[DemoStore] = None,
    ):
        self.config = config
        check_operator(config.operator)
        if config.episodes < 1:
            raise IrlkitError(f"episodes={config.episodes}: record at least one episode")
        self.env = _make_render_env(config.env)
        self.name = f"env {config.env.name!r} ({config.env.id})"
        try:
            self._prepare(config, device, store)
        except BaseException:
            self.env.close()
            raise
        self.on_frame = on_frame
        self.hud: list[str] = []
        """The HUD lines drawn in the latest frame."""

    def _prepare(self, config: RecorderConfig, device: Optional[InputDevice], store: Optional[DemoStore]) -> None:
        """Check rendering, the key map, the device and the dataset before any window opens."""
        # The display first: gymnasium 1.x's renderers start pygame's display themselves and would
        # report a missing one as their own render failure ("x11 not available"), 0.29's do not.
        init_display()
        # Render after a reset and after a step: some renderers only fail once an action was taken.
        self.env.reset(seed=0)
        render_frame(self.env, what=self.name)
        self.env.action_space.seed(0)
        self.env.step(self.env.action_space.sample())
        first = render_frame(self.env, what=self.name)
        self.fps = session_fps(self.env, config.fps, what=self.name, option="fps")
        if device is None:
            keymap = parse_keymap(
                config.env.teleop, self.env.action_space, env_name=config.env.name, env_id=config.env.id
            )
            if config.input == "keyboard":
                device = KeyboardInput(keymap, fps=self.fps)
            elif config.input == "gamepad":
                device = GamepadInput(keymap, fps=self.fps)
            else:
                raise IrlkitError(f"input={config.input!r} is not an input device; choose one of {', '.join(INPUTS)}")
        self.device = device
        self.store = store if store is not None else DemoStore(config.store_root)
        self.dataset_path = self.store.path_of(config.dataset)
        self._dataset: Optional[Dataset] = None
        shipped = shipped_demos_dir()
        if (
            shipped is not None
            and shipped in self.dataset_path.parents
            and self.store.root.resolve() not in self.dataset_path.resolve().parents
        ):
            raise IrlkitError(
                f"dataset {config.dataset!r} is one shipped with irlkit ({self.dataset_path}); record into a dataset "
                "of your own, e.g. demos=" + f"{config.env.name}_teleop"
            )
        if self.store.exists(config.dataset):
            # Refuse a dataset recorded on another env now, not after the first episode.
            self._dataset = self.store.open(config.dataset)
            self._dataset.check_spaces(self.env.observation_space, self.env.action_space, env_id=config.env.id)
        self._first_frame_shape = first.shape

    @property
    def dataset(self) -> Dataset:
        """The dataset, created at the first commit so a session that stores nothing leaves nothing."""
        if self._dataset is None:
            self._dataset = dataset_for_env(
                self.store,
                self.config.dataset,
                self.config.env.id,
                self.env,
                self.config.description or f"{self.config.source} demonstrations on {self.config.env.id}",
            )
        return self._dataset

    # ---- the loop --------------------------------------------------------------------------
    def run(self) -> RecordingSummary:
        """Record until `episodes` are kept, Esc, a closed window, SIGINT or SIGTERM."""
        signals = StopSignals().install()
        window = Window(
            f"irlkit record – {self.config.env.name} ({self.config.env.id})",
            self._first_frame_shape,
            max_size=self.config.max_window,
            hud_lines=4,
        )
        try:
            return self._loop(window, signals)
        finally:
            signals.restore()
            self.device.close()
            window.close()
            self.env.close()

    def _loop(self, window: Window, signals: StopSignals) -> RecordingSummary:
        cfg = self.config
        summary = RecordingSummary(dataset=str(self.dataset_path), fps=self.fps)
        timings = summary.timings
        seeds = np.random.default_rng(cfg.seed)
        writer = EpisodeWriter(lambda: self.dataset, self.env.action_space)  # no journal: see EpisodeWriter
        state = RecorderState.WAITING
        frame_no = 0
        seed = int(seeds.integers(0, 2**31 - 1))
        obs, _ = self.env.reset(seed=seed)
        writer.reset(obs)
        dropped = 0
        started = ""
        recent: collections.deque[float] = collections.deque(maxlen=max(2, int(self.fps)))  # about 1 s of frames
        legend = self.device.legend()
        clock = FixedRateClock(self.fps, realtime=cfg.realtime)

        def restart(new_seed: bool) -> None:
            nonlocal seed, obs, dropped, state
            if new_seed:
                seed = int(seeds.integers(0, 2**31 - 1))
            obs, _ = self.env.reset(seed=seed)
            writer.reset(obs)
            dropped = 0
            state = RecorderState.WAITING
            self.device.reset()

        def commit(terminated: bool, truncated: bool, ended_by: str, discarded: bool = False) -> None:
            t0 = time.perf_counter()
            n_steps, ret = writer.steps, writer.episode_return
            meta = EpisodeMeta(
                source=cfg.source,
                operator=cfg.operator,
                device=self.device.device,
                env_id=cfg.env.id,
                seed=seed,
                started_utc=started,
                ended_utc=utc_now(),
                fps=self.fps,
                discarded=discarded,
                extra={"frames_dropped": dropped, "ended_by": ended_by, "env_name": cfg.env.name},
            )
            episode_id = writer.commit(meta, terminated=terminated, truncated=truncated).meta.episode_id
            timings["commit"].append(time.perf_counter() - t0)
            if discarded:
                summary.discarded += 1
                log.info("attempt discarded (%d steps, stored flagged discarded as %s)", n_steps, episode_id)
            else:
                summary.kept.append(episode_id)
                summary.frames_dropped += dropped
                log.info(
                    "episode %d of %d stored: %d steps, return %.2f, seed %d, %d frames dropped (%s)",
                    len(summary.kept),
                    cfg.episodes,
                    n_steps,
                    ret,
                    seed,
                    dropped,
                    episode_id,
                )

        def drop(reason: str, new_seed: bool) -> None:
            if writer.steps and cfg.keep_discarded:
                commit(False, True, reason, discarded=True)
            else:
                summary.discarded += 1 if writer.steps else 0
            restart(new_seed)

        while True:
            tick = time.perf_counter()
            frame_no += 1
            status = Status(
                state=state,
                episode=len(summary.kept),
                step=writer.steps,
                frame=frame_no,
                kept=len(summary.kept),
                episode_return=writer.episode_return,
            )
            events, stop_reason = read_events(status, self.on_frame, signals)
            if stop_reason:
                summary.stopped_by = stop_reason
                break
            stop = False
            for control in self.device.handle(events, status):
                if control is Control.QUIT:
                    summary.stopped_by, stop = "quit", True
                    break
                if control is Control.START_PAUSE:
                    if state is RecorderState.WAITING:
                        state, started = RecorderState.RECORDING, utc_now()
                        self.device.reset()
                    elif state is RecorderState.RECORDING:
                        state = RecorderState.PAUSED
                    else:
                        state = RecorderState.RECORDING
                elif control is Control.RERECORD and state is not RecorderState.WAITING:
                    drop("rerecord", new_seed=False)
                elif control is Control.DISCARD:
                    drop("discard", new_seed=True)
                elif control is Control.KEEP and writer.steps:
                    commit(False, True, "operator")
                    if len(summary.kept) >= cfg.episodes:
                        stop = True
                        break
                    restart(new_seed=True)
            if stop:
                break

            if state is RecorderState.RECORDING:
                t0 = time.perf_counter()
                action = self.device.action(obs)
                t1 = time.perf_counter()
                obs, reward, terminated, truncated, _ = self.env.step(action)
                t2 = time.perf_counter()
                writer.step(action, float(reward), obs)
                timings["step"].append(t2 - t1)
                timings["record"].append((t1 - t0) + (time.perf_counter() - t2))
                if terminated or truncated:
                    commit(bool(terminated), bool(truncated), "env")
                    if len(summary.kept) >= cfg.episodes:
                        break
                    restart(new_seed=True)

            t_render = time.perf_counter()
            self.hud = self._hud(state, summary, writer.steps, writer.episode_return, _rate(recent), dropped, legend)
            frame = render_frame(self.env, what=self.name)
            window.show(frame, self.hud, state=state.value)
            done = time.perf_counter()
            timings["render"].append(done - t_render)
            timings["frame"].append(done - tick)

            recent.append(tick)
            missed = clock.wait()
            if missed and state is RecorderState.RECORDING:
                dropped += missed

        summary.lost_steps = writer.steps if state is not RecorderState.WAITING else 0
        if summary.lost_steps:
            log.info("episode in progress not stored (%d steps)", summary.lost_steps)
        return summary

    def _hud(
        self,
        state: RecorderState,
        summary: RecordingSummary,
        step: int,
        ret: float,
        fps: float,
        dropped: int,
        legend: str,
    ) -> list[str]:
        k, n = min(len(summary.kept) + 1, self.config.episodes), self.config.episodes
        if state is RecorderState.WAITING:
            head = f"WAITING  episode {k} of {n}: press Space to start"
        elif state is RecorderState.PAUSED:
            head = f"PAUSED  episode {k} of {n}  step {step}  return {ret:.1f}: Space resumes"
        else:
            head = f"RECORDING  episode {k} of {n}  step {step}  return {ret:.1f}"
        return [
            head,
            f"{fps:5.1f} fps (target {self.fps:g})  dropped {dropped}  kept {len(summary.kept)}  operator {self.config.operator}",
            f"keys: {legend}",
            CONTROL_LEGEND,
        ]


def _rate(ticks: collections.deque[float]) -> float:
    """Frames per second over the last second of frame starts (0 until two frames were shown)."""
    if len(ticks) < 2 or ticks[-1] <= ticks[0]:
        return 0.0
    return (len(ticks) - 1) / (ticks[-1] - ticks[0])


def record(config: RecorderConfig, **kwargs: Any) -> RecordingSummary:
    """Build a `Recorder` and run it (keyword arguments go to `Recorder`)."""
    return Recorder(config, **kwargs).run()
