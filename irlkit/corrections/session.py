"""The corrections window: the learner drives, a person takes over by holding a key and hands back.

This is the recorder's window and input devices (`irlkit.teleop`) with a different driver: at every
step the learner proposes an action; while the person is *engaged* (holds a driving key, moves the
gamepad, or, for the scripted stand-in, decides to step in) the person's action is taken instead,
and that step becomes a label. With `query="uncertain"` the learner also stops and asks when its
ensemble disagrees: the window pauses with a prompt until the person takes over (hold a key) or
declines (Space).

It stays one module: the step loop, its pause-and-ask state and the per-step record it writes
change together, and the shared pieces already live in `irlkit.teleop.loop`.

Why a loop of its own rather than the recorder's: the recorder steps whenever it is recording and
stores only the device's action; here a step may wait for an answer, and every step carries who
acted and what the learner proposed. Everything else is shared: the window and HUD, the input
devices and their control keys, render checks, and `irlkit.teleop.loop`'s clock, stop signals and
episode writer, which commits each finished episode atomically to the store (source `correction`).
Every step is also logged as it happens (the store's journal), so a killed session loses no step:
the next session on the dataset, or `python -m irlkit.demos recover`, stores what it left. Esc, a
closed window, Ctrl-C or SIGTERM commit the episode in progress (marked truncated).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Optional

import numpy as np

from irlkit.algos.bc_ensemble import Proposal
from irlkit.algos.hg_dagger import RoundResult
from irlkit.corrections.stores import LEARNER, PERSON, SOURCE, is_label, recover_unfinished, step_info
from irlkit.envs import EnvConfig, dataset_for_env, make_env
from irlkit.errors import IrlkitError
from irlkit.store import Dataset, DemoStore, EpisodeMeta, check_operator, utc_now
from irlkit.teleop.inputs import Control, GamepadInput, InputDevice, KeyboardInput, RecorderState, Status
from irlkit.teleop.keymap import ContinuousKeyMap, DiscreteKeyMap
from irlkit.teleop.loop import (
    EpisodeWriter,
    FixedRateClock,
    StopSignals,
    read_events,
    refuse_invisible_window,
    session_fps,
)
from irlkit.teleop.window import Window, render_frame

log = logging.getLogger("irlkit.corrections")

Engagement = Callable[[Any, Proposal, bool], bool]
"""`engaged(obs, proposal, asked) -> bool`: is the person at the controls for the step from `obs`?"""

LEGEND = "Space start/pause (or decline a question)  Enter end episode  Esc quit"


@dataclasses.dataclass
class SessionConfig:
    """One corrections session (several rounds share its window, env and dataset)."""

    env: EnvConfig
    dataset: str
    """Dataset the corrections are committed to; created when missing (its spaces must match)."""
    operator: str
    """Pseudonym of the person correcting."""
    query: str = "always"
    """always, or uncertain: the learner also asks when its disagreement exceeds `threshold`."""
    threshold: float = 0.05
    novelty_threshold: Optional[float] = 0.3
    """Also ask where the state is farther than this from every labelled state (None: never)."""
    fps: Optional[float] = None
    """Steps per second; default the env's render_fps."""
    realtime: bool = True
    """False steps as fast as possible (scripted person, tests, benchmarks)."""
    store_root: Optional[str] = None
    seed: Optional[int] = None
    """Seeds the generator of per-episode env seeds (each episode's seed is stored)."""
    decline_cooldown_s: float = 0.2
    learn_from_approvals: bool = True
    """A declined question approves the learner's action in that state: return it as a label too."""
    max_window: tuple[int, int] = (960, 640)


def keyboard_engaged(device: KeyboardInput) -> Engagement:
    """Engaged while any key of the env's key map is held (other keys do not take over)."""
    km = device.keymap
    if isinstance(km, DiscreteKeyMap):
        keys = set(km.keys)
    else:
        assert isinstance(km, ContinuousKeyMap)
        keys = {a.negative for a in km.axes} | {a.positive for a in km.axes}
    return lambda obs, proposal, asked: any(k in keys for k in device.held)


def gamepad_engaged(device: GamepadInput) -> Engagement:
    """Engaged while a mapped button or the d-pad is held, or a stick is outside the dead zone."""

    def engaged(obs: Any, proposal: Proposal, asked: bool) -> bool:
        km = device.keymap
        buttons = km.buttons if isinstance(km, DiscreteKeyMap) else {}
        return (
            any(b in buttons for b in device.buttons)
            or device.hat != (0, 0)
            or any(device.stick(axis) != 0.0 for axis in device.axes)
        )

    return engaged


def engagement_of(device: InputDevice) -> Engagement:
    """How to tell whether `device`'s person is at the controls."""
    if isinstance(device, KeyboardInput):
        return keyboard_engaged(device)
    if isinstance(device, GamepadInput):
        return gamepad_engaged(device)
    engaged = getattr(device, "engaged", None)
    if callable(engaged):
        return engaged  # a scripted person decides for itself (irlkit.corrections.scripted)
    raise IrlkitError(
        f"input device {type(device).__name__} cannot take over: use a keyboard, a gamepad, or a scripted "
        "person with an `engaged(obs, proposal, asked)` method"
    )


class CorrectionSession:
    """The window in which a learner drives and a person corrects it; `run_round` plays one round.

    `learner` is anything with `propose(obs) -> Proposal` (`irlkit.algos.bc_ensemble.BCLearner`);
    it may be retrained between rounds. `on_frame(status)` runs at the start of every frame before
    the frame's events are read, as in the recorder: tests post pygame events from it.
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        person: InputDevice,
        learner: Any,
        engaged: Optional[Engagement] = None,
        store: Optional[DemoStore] = None,
        on_frame: Optional[Callable[[Status], None]] = None,
    ):
        check_operator(config.operator)
        if config.query not in ("always", "uncertain"):
            raise IrlkitError(f"query={config.query!r}: choose always or uncertain")
        self.config = config
        self.person = person
        self.learner = learner
        self.engaged = engaged if engaged is not None else engagement_of(person)
        self.on_frame = on_frame
        self.name = f"env {config.env.name!r} ({config.env.id})"
        self.env = make_env(config.env, render_mode="rgb_array")
        try:
            self.env.reset(seed=0)
            first = render_frame(self.env, what=self.name)
            self.fps = session_fps(self.env, config.fps, what=self.name, option="expert.fps")
            self.store = store if store is not None else DemoStore(config.store_root)
            self.dataset_path = self.store.path_of(config.dataset)
            self._dataset: Optional[Dataset] = None
            if self.store.exists(config.dataset):
                self._dataset = self.store.open(config.dataset)
                self._dataset.check_spaces(self.env.observation_space, self.env.action_space, env_id=config.env.id)
                recover_unfinished(self._dataset)
            self.window = Window(
                f"irlkit corrections – {config.env.name} ({config.env.id})",
                first.shape,
                max_size=tuple(config.max_window),
                hud_lines=5,
            )
            if not callable(getattr(person, "engaged", None)):  # only a scripted person may drive an unseen window
                refuse_invisible_window(self.window, "corrections")
        except BaseException:
            self.env.close()
            raise
        self._last_frame = first
        self._seeds = np.random.default_rng(config.seed)
        self._frame = 0
        self._signals = StopSignals().install()
        self.total_labels = 0
        self.total_steps = 0
        self.total_asked = 0
        self.total_approved = 0
        self.episodes_kept = 0
        self.hud: list[str] = []
        """The HUD lines drawn in the latest frame (tests read them)."""
        self._person_driving = False

    # ---- store ------------------------------------------------------------------------------
    @property
    def dataset(self) -> Dataset:
        """The corrections dataset, created at the first commit."""
        if self._dataset is None:
            self._dataset = dataset_for_env(
                self.store,
                self.config.dataset,
                self.config.env.id,
                self.env,
                f"human corrections (HG-DAgger) on {self.config.env.id}",
            )
        return self._dataset

    # ---- the loop ---------------------------------------------------------------------------
    def run_round(self, round_no: int, min_steps: int) -> RoundResult:
        """Play whole episodes until at least `min_steps` env steps were taken (or the person stops)."""
        cfg = self.config
        result = RoundResult(round=round_no)
        cooldown_steps = round(cfg.decline_cooldown_s * self.fps)
        writer = EpisodeWriter(lambda: self.dataset, self.env.action_space, journal=True)
        state = RecorderState.WAITING
        asking = False
        seed = int(self._seeds.integers(0, 2**31 - 1))
        obs, _ = self.env.reset(seed=seed)
        writer.reset(obs)
        started, no_ask_until = "", 0
        pending_ask = declined = False
        proposal: Optional[Proposal] = None
        self.person.reset()
        clock = FixedRateClock(self.fps, realtime=cfg.realtime)

        def episode_meta(extra: dict[str, Any]) -> EpisodeMeta:
            return EpisodeMeta(
                source=SOURCE,
                operator=cfg.operator,
                device=self.person.device,
                env_id=cfg.env.id,
                seed=seed,
                started_utc=started,
                ended_utc=utc_now(),
                fps=self.fps,
                extra={"round": round_no, "query": cfg.query, "env_name": cfg.env.name, **extra},
            )

        def commit(terminated: bool, truncated: bool, ended_by: str) -> None:
            infos, ret = writer.infos, writer.episode_return
            labels = sum(1 for i in infos if i["actor"] == PERSON)
            asked = sum(1 for i in infos if i["asked"])
            approved = sum(1 for i in infos if i["approved"])
            meta = episode_meta({"labels": labels, "asked": asked, "approved": approved, "ended_by": ended_by})
            ep = writer.commit(meta, terminated=terminated, truncated=truncated)
            for t, info in enumerate(infos):
                if is_label(info, cfg.learn_from_approvals):
                    result.obs.append(ep.obs[t])
                    result.acts.append(ep.acts[t])
                    result.next_obs.append(ep.obs[t + 1])
                    result.dones.append(t == len(infos) - 1 and (terminated or truncated))
            steps = len(ep)
            result.episodes.append(ep.meta.episode_id)
            result.returns.append(ret)
            result.steps += steps
            result.labels += labels
            result.asked += asked
            result.approved += approved
            self.total_steps += steps
            self.total_labels += labels
            self.total_asked += asked
            self.total_approved += approved
            self.episodes_kept += 1
            log.info(
                "round %d: episode stored (%s): %d steps, %d labels, %d asked, return %.1f",
                round_no,
                ep.meta.episode_id,
                steps,
                labels,
                asked,
                ret,
            )

        def restart() -> None:
            nonlocal seed, obs, state, asking, pending_ask, declined, proposal, no_ask_until
            seed = int(self._seeds.integers(0, 2**31 - 1))
            obs, _ = self.env.reset(seed=seed)
            writer.reset(obs)
            asking, pending_ask, declined, proposal, no_ask_until = False, False, False, None, 0
            state = RecorderState.WAITING
            self._person_driving = False
            self.person.reset()

        while True:
            self._frame += 1
            status = Status(
                state=RecorderState.PAUSED if asking else state,
                episode=self.episodes_kept,
                step=writer.steps,
                frame=self._frame,
                kept=self.episodes_kept,
                episode_return=writer.episode_return,
            )
            events, result.stopped_by = read_events(status, self.on_frame, self._signals)
            ended = False
            for control in [] if result.stopped_by else self.person.handle(events, status):
                if control is Control.QUIT:
                    result.stopped_by = "quit"
                    break
                if control is Control.START_PAUSE:
                    if state is RecorderState.WAITING:
                        state, started = RecorderState.RECORDING, utc_now()
                        writer.start(episode_meta({}))
                        self.person.reset()
                    elif asking:  # declined: the learner goes on, and is not asked again for a while
                        asking, declined = False, True
                        no_ask_until = writer.steps + 1 + cooldown_steps
                    elif state is RecorderState.RECORDING:
                        state = RecorderState.PAUSED
                    else:
                        state = RecorderState.RECORDING
                elif control is Control.KEEP and writer.steps:
                    commit(False, True, "operator")
                    ended = True
                    break
            if result.stopped_by:
                if writer.steps:  # keep what was labelled: nothing the person did is thrown away
                    commit(False, True, result.stopped_by)
                break
            if ended:
                if result.steps >= min_steps:
                    break
                restart()

            if state is RecorderState.RECORDING:
                if proposal is None:
                    proposal = self.learner.propose(obs)
                unsure = cfg.query == "uncertain" and writer.steps >= no_ask_until and self._unsure(proposal)
                engaged = bool(self.engaged(obs, proposal, unsure or asking))
                if (unsure or asking) and not engaged and writer.steps >= no_ask_until:
                    asking = pending_ask = True  # wait for the person: hold a key, or Space to decline
                else:
                    given = self.person.action(obs) if engaged else None
                    action = given if engaged else proposal.action
                    info = step_info(
                        actor=PERSON if engaged else LEARNER,
                        proposed=proposal.action,
                        given=given,
                        asked=unsure or pending_ask,
                        uncertainty=proposal.uncertainty,
                        round_no=round_no,
                        approved=declined and not engaged,
                        novelty=proposal.novelty,
                    )
                    asking = pending_ask = declined = False
                    self._person_driving = engaged
                    obs, reward, terminated, truncated, _ = self.env.step(action)
                    proposal = None
                    # Every step reaches the journal at once: a SIGKILL loses no label (irlkit/store/journal.py).
                    writer.step(action, float(reward), obs, info)
                    if terminated or truncated:
                        commit(bool(terminated), bool(truncated), "env")
                        if result.steps >= min_steps:
                            self._draw(round_no, result, min_steps, RecorderState.WAITING, False, 0, 0.0, None)
                            break
                        restart()

            self._draw(round_no, result, min_steps, state, asking, writer.steps, writer.episode_return, proposal)
            clock.wait()
        return result

    def _unsure(self, proposal: Proposal) -> bool:
        """The learner's doubt crosses a threshold: its ensemble disagrees, or the state is novel."""
        cfg = self.config
        if proposal.uncertainty is not None and proposal.uncertainty > cfg.threshold:
            return True
        return (
            cfg.novelty_threshold is not None
            and proposal.novelty is not None
            and proposal.novelty > cfg.novelty_threshold
        )

    def _draw(
        self,
        round_no: int,
        result: RoundResult,
        min_steps: int,
        state: RecorderState,
        asking: bool,
        step: int,
        ret: float,
        proposal: Optional[Proposal],
    ) -> None:
        """One frame: the env and the HUD saying who drives, the round's progress and the learner's doubt."""
        cfg = self.config
        if asking:
            head, colour = "ASKING: the learner is unsure. Hold a key to drive, Space to let it go on", "waiting"
        elif state is RecorderState.WAITING:
            head, colour = f"WAITING  round {round_no}: press Space to start the episode", "waiting"
        elif state is RecorderState.PAUSED:
            head, colour = f"PAUSED  round {round_no}  step {step}: Space resumes", "paused"
        elif state is RecorderState.RECORDING and self._person_driving:
            head, colour = (
                f"YOU DRIVE  round {round_no}  step {step}  return {ret:.1f}: release to hand back",
                "recording",
            )
        else:
            head, colour = f"LEARNER DRIVES  round {round_no}  step {step}  return {ret:.1f}", "replay"
        doubt = ""
        if proposal is not None and proposal.uncertainty is not None:
            doubt = f"  learner's doubt {proposal.uncertainty:.2f} (asks above {cfg.threshold:g})"
            if proposal.novelty is not None and cfg.novelty_threshold is not None:
                doubt += f", novelty {proposal.novelty:.2f} (above {cfg.novelty_threshold:g})"
        self.hud = [
            head,
            (
                f"round steps {result.steps}/{min_steps}  labels this round {result.labels}  "
                f"all rounds {self.total_labels}  asked {self.total_asked}  approved {self.total_approved}"
            ),
            f"operator {cfg.operator}  query {cfg.query}{doubt}",
            f"take over: hold {self.person.legend() or 'a driving key'}; release to hand back",
            LEGEND,
        ]
        try:
            self._last_frame = render_frame(self.env, what=self.name)
        except OverflowError:
            # seals' fixed-horizon CartPole keeps running after the pole falls; the cart can leave the
            # drawing's integer range. Keep the last frame rather than end the session.
            self.hud[0] += "  (off screen)"
        self.window.show(self._last_frame, self.hud, state=colour)

    def message(self, text: str) -> None:
        """Show one line over the last frame (e.g. while the policy retrains between rounds)."""
        import pygame

        pygame.event.pump()
        self.hud = [text, "", "", "", LEGEND]
        self.window.show(self._last_frame, self.hud, state="paused")

    def close(self) -> None:
        self._signals.restore()
        self.person.close()
        self.window.close()
        self.env.close()
