"""HG-DAgger (Kelly et al. 2019) as an irlkit `Trainer`: `python -m irlkit algo=dagger expert=human`.

Each round the learner drives in the corrections window (`irlkit.corrections.session`) for at least
`algo.round_steps` env steps; the person takes over where it goes wrong and only those steps are
labelled. After the round the policy is retrained by behaviour cloning (imitation's `BC`) on every
label so far, plus the dataset's demonstrations when `algo.use_demos`, and the next round starts.
The budget is env steps, like imitation's DAgger, so both are scored by the same runs and curves.

With `expert.query=uncertain` the learner is an ensemble and also asks for help where it is unsure
(EnsembleDAgger, Menda et al. 2019; ThriftyDAgger, Hoque et al. 2021); the share of steps asked is
reported in eval.json. Every step is logged to the store as it happens and every episode is
committed (source `correction`) before the policy retrains, so stopping or killing a session never
loses a label already given.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Optional

import numpy as np

from irlkit.algos.base import Progress, RunContext, Trainer
from irlkit.algos.configs import DAggerConfig
from irlkit.corrections.config import INPUTS, QUERIES, HumanExpertConfig
from irlkit.corrections.session import CorrectionSession, RoundResult, SessionConfig
from irlkit.corrections.stores import labelled_transitions, recover_unfinished
from irlkit.corrections.uncertainty import BCLearner
from irlkit.errors import IrlkitError


def check_human_expert(cfg: HumanExpertConfig) -> HumanExpertConfig:
    """The user's mistakes in the `expert=human` group, named before any window opens."""
    if not cfg.operator:
        raise IrlkitError(
            "expert=human needs the pseudonym of the person correcting: add operator=<alias> (letters, digits, "
            "'_-.'; never a real name). The scripted stand-in needs one too, e.g. operator=scripted-expert."
        )
    if cfg.input not in INPUTS:
        raise IrlkitError(f"expert.input={cfg.input!r}: choose one of {', '.join(INPUTS)}")
    if cfg.query not in QUERIES:
        raise IrlkitError(f"query={cfg.query!r} (expert.query): choose one of {', '.join(QUERIES)}")
    if cfg.query == "uncertain" and cfg.ensemble < 2:
        raise IrlkitError(f"expert.query=uncertain needs an ensemble of at least 2 policies, got expert.ensemble={cfg.ensemble}")
    if cfg.novelty_threshold is not None and cfg.novelty_threshold <= 0:
        raise IrlkitError(f"expert.novelty_threshold={cfg.novelty_threshold}: give a positive distance (e.g. 0.5), "
                          "or null to ask on ensemble disagreement only")
    return cfg


class HGDAggerTrainer(Trainer):
    """The learner drives, a person corrects; BC on every correction after each round."""

    budget_unit = "env_steps"

    def __init__(self, cfg: DAggerConfig, ctx: RunContext, human: HumanExpertConfig, *, on_frame: Any = None):
        self._cfg, self._human, self._ctx = cfg, human, ctx
        self.learner = BCLearner(
            ctx.observation_space,
            ctx.action_space,
            rng=ctx.rng,
            members=human.ensemble if human.query == "uncertain" else 1,
            net_arch=cfg.net_arch,
            batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            ent_weight=cfg.ent_weight,
            logger=ctx.logger,
        )
        self.person = self._make_person(ctx)
        scripted = human.input == "scripted"
        self.session_config = SessionConfig(
            env=ctx.env_cfg,
            dataset=human.dataset or f"{ctx.env_cfg.name}_corrections",
            operator=human.operator or "",
            query=human.query,
            threshold=human.threshold,
            novelty_threshold=human.novelty_threshold,
            fps=human.fps,
            realtime=(not scripted) if human.realtime is None else human.realtime,
            store_root=human.store_root,
            seed=ctx.seed if human.seed is None else human.seed,
            decline_cooldown_s=human.decline_cooldown_s,
            learn_from_approvals=human.learn_from_approvals,
            max_window=(int(human.max_window[0]), int(human.max_window[1])),
        )
        self._on_frame = on_frame
        # Labels: the dataset's demos (when asked), corrections resumed from the store, then this run's.
        self._obs: list[np.ndarray] = []
        self._acts: list[np.ndarray] = []
        self._next: list[np.ndarray] = []
        self._dones: list[np.ndarray] = []
        if cfg.use_demos and len(ctx.demos):
            t = ctx.demos.to_transitions()
            self._add(t.obs, t.acts, t.next_obs, t.dones)
        self.resumed_labels = 0
        if human.resume:
            from irlkit.store import DemoStore

            store = DemoStore(human.store_root)
            if store.exists(self.session_config.dataset):
                dataset = store.open(self.session_config.dataset)
                recover_unfinished(dataset)  # a killed session's last episode counts too
                o, a, n, d = labelled_transitions(dataset, operator=human.operator, approvals=human.learn_from_approvals)
                self.resumed_labels = len(a)
                self._add(o, a, n, d)
        self.rounds: list[dict[str, Any]] = []
        self._steps = 0
        self.labels = 0
        self.asked = 0
        self.approved = 0
        self.stopped_by: Optional[str] = None
        self._retrain()

    def _make_person(self, ctx: RunContext) -> Any:
        from irlkit.teleop.inputs import GamepadInput, KeyboardInput
        from irlkit.teleop.keymap import parse_keymap

        human = self._human
        if human.input == "scripted":
            from irlkit.corrections.scripted import ScriptedPerson
            from irlkit.experts import load_or_train_expert

            expert = load_or_train_expert(ctx.env_cfg, seed=self._cfg.expert_seed)
            return ScriptedPerson(expert.policy, ctx.action_space, query=human.query,
                                  hand_back_after=human.hand_back_after, accept_prob=human.accept_prob)
        keymap = parse_keymap(ctx.env_cfg.teleop, ctx.action_space, env_name=ctx.env_cfg.name, env_id=ctx.env_cfg.id)
        fps = human.fps or _render_fps(ctx.env_cfg)  # ramped keys count in steps of the window's rate
        if human.input == "gamepad":
            return GamepadInput(keymap, fps=fps)
        return KeyboardInput(keymap, fps=fps)

    def _add(self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, dones: np.ndarray) -> None:
        if len(acts):
            self._obs.append(np.asarray(obs, dtype=np.float32))
            self._acts.append(np.asarray(acts))
            self._next.append(np.asarray(next_obs, dtype=np.float32))
            self._dones.append(np.asarray(dones, dtype=bool))

    def _retrain(self) -> None:
        if not self._acts:
            return
        self.learner.fit(
            np.concatenate(self._obs),
            np.concatenate(self._acts),
            np.concatenate(self._next),
            np.concatenate(self._dones),
            epochs=self._cfg.bc_epochs_per_round,
            min_batches=self._human.min_batches_per_round,
            member_min_batches=self._human.ensemble_min_batches,
        )

    def train(self, budget: int, progress: Progress) -> None:
        session = CorrectionSession(self.session_config, person=self.person, learner=self.learner,
                                    on_frame=self._on_frame)
        try:
            while self._steps < budget:
                round_no = len(self.rounds)
                result = session.run_round(round_no, min(self._cfg.round_steps, budget - self._steps))
                self._record_round(result)
                if result.acts:
                    self._add(np.stack(result.obs), np.asarray(result.acts), np.stack(result.next_obs),
                              np.asarray(result.dones))
                    session.message(f"round {round_no} done: retraining on {self.labels + self.resumed_labels} labels...")
                    self._retrain()
                progress(result.steps)
                if result.stopped_by:
                    self.stopped_by = result.stopped_by
                    print(f"irlkit: corrections stopped ({result.stopped_by}) after {self._steps} steps; "
                          f"every label given is stored in {session.dataset_path}", file=sys.stderr)
                    break
        finally:
            self.dataset_path = str(session.dataset_path)
            session.close()

    def _record_round(self, r: RoundResult) -> None:
        self._steps += r.steps
        self.labels += r.labels
        self.asked += r.asked
        self.approved += r.approved
        row = {"round": r.round, "steps": r.steps, "labels": r.labels, "asked": r.asked, "approved": r.approved,
               "episodes": len(r.episodes), "return_mean": float(np.mean(r.returns)) if r.returns else None}
        self.rounds.append(row)
        ret = f"{row['return_mean']:.1f}" if row["return_mean"] is not None else "-"
        print(f"irlkit: round {r.round}: {r.steps} steps, {r.labels} labels ({self.labels} in all), "
              f"{r.asked} asked, {r.approved} approved, episode return {ret}", file=sys.stderr, flush=True)

    @property
    def policy(self) -> Any:
        return self.learner.policy

    @property
    def env_steps(self) -> int:
        return self._steps

    def summary(self) -> dict[str, Any]:
        """Corrections facts for eval.json: labels, the share of steps asked, per-round numbers."""
        steps = max(self._steps, 1)
        return {
            "expert": "human",
            "operator": self._human.operator,
            "input": self._human.input,
            "query": self._human.query,
            "threshold": self._human.threshold if self._human.query == "uncertain" else None,
            "novelty_threshold": self._human.novelty_threshold if self._human.query == "uncertain" else None,
            "labels": self.labels,
            "label_share": self.labels / steps,
            "asked_steps": self.asked,
            "asked_share": self.asked / steps,
            "approved": self.approved,
            "answers": self.labels + self.approved,
            "resumed_labels": self.resumed_labels,
            "corrections": getattr(self, "dataset_path", None),
            "rounds": self.rounds,
            "stopped_by": self.stopped_by,
        }


def _render_fps(env_cfg: Any) -> float:
    from irlkit.envs import make_env

    env = make_env(env_cfg)
    try:
        return float(env.metadata.get("render_fps") or 30.0)
    finally:
        env.close()


def build_hg_dagger(cfg: DAggerConfig, ctx: RunContext) -> HGDAggerTrainer:
    return HGDAggerTrainer(cfg, ctx, check_human_expert(ctx.expert))
