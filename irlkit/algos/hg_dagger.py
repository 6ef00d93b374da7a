"""HG-DAgger (Kelly et al. 2019) as an irlkit `Trainer`: `python -m irlkit algo=dagger expert=human`.

Each round the learner drives for at least `algo.round_steps` env steps while a person watches and
takes over where it goes wrong; only the steps the person drove are labels. After the round the
policy is retrained by behaviour cloning (imitation's `BC`) on every label so far, plus the
dataset's demonstrations when `algo.use_demos`, and the next round starts. The budget is env steps,
like imitation's DAgger, so both are scored by the same runs and curves.

With `expert.query=uncertain` the learner is an ensemble (`irlkit.algos.bc_ensemble`) and also asks
for help where it is unsure (EnsembleDAgger, Menda et al. 2019; ThriftyDAgger, Hoque et al. 2021);
the share of steps asked is reported in eval.json.

The person reaches the algorithm as a `Corrector` (the protocol below), built above the algorithms
and handed down in `RunContext.human`: `irlkit.corrections` builds one around its window, with a
person or the scripted stand-in in the seat, and stores every label as it is given.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Optional, Protocol

import numpy as np

from irlkit.algos.base import Progress, RunContext, Trainer
from irlkit.algos.bc_ensemble import BCLearner, Proposal
from irlkit.algos.checkpoint import Checkpoint
from irlkit.algos.configs import DAggerConfig


@dataclasses.dataclass
class Labels:
    """Labelled transitions: the person's action in each state (obs, acts, next_obs, dones)."""

    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    dones: np.ndarray

    def __len__(self) -> int:
        return len(self.acts)


@dataclasses.dataclass
class RoundResult:
    """What one round gathered: its steps, the labels (person-driven steps) and the questions asked."""

    round: int
    steps: int = 0
    labels: int = 0
    asked: int = 0
    approved: int = 0
    """Questions the person declined (Space): the learner's action approved, no action given."""
    episodes: list[str] = dataclasses.field(default_factory=list)
    returns: list[float] = dataclasses.field(default_factory=list)
    stopped_by: Optional[str] = None
    """None when the round ran to its end; else quit, window closed, SIGINT or SIGTERM."""
    # The round's labels as transitions (with `learn_from_approvals`, the approved steps too).
    obs: list[np.ndarray] = dataclasses.field(default_factory=list)
    acts: list[Any] = dataclasses.field(default_factory=list)
    next_obs: list[np.ndarray] = dataclasses.field(default_factory=list)
    dones: list[bool] = dataclasses.field(default_factory=list)


class Proposer(Protocol):
    """What a corrector sees of the learner: its action in a state, and how unsure it is."""

    def propose(self, obs: np.ndarray) -> Proposal: ...


class Corrector(Protocol):
    """The human side of HG-DAgger: someone who watches the learner drive and takes over.

    `irlkit.corrections.corrector.WindowCorrector` is the one irlkit builds (`expert=human`)."""

    dataset_path: str
    """Where every label given is kept (named when a person stops the session)."""

    def prior_labels(self) -> Labels:
        """Labels given in earlier sessions that this run starts from (`expert.resume`); may be empty."""
        ...

    def run_round(self, learner: Proposer, round_no: int, min_steps: int) -> RoundResult:
        """Let `learner` drive whole episodes, corrected, until at least `min_steps` env steps (or a stop)."""
        ...

    def message(self, text: str) -> None:
        """Tell the person what happens between rounds (the policy retrains)."""
        ...

    def close(self) -> None: ...

    def summary(self) -> dict[str, Any]:
        """Who corrected and how (eval.json): expert kind, operator, input, query and its thresholds."""
        ...


class LearnerSettings(Protocol):
    """What HG-DAgger reads of the `expert=human` config (`irlkit.corrections.config.HumanExpertConfig`,
    where each is documented): the ensemble and how long each retraining runs."""

    query: str
    ensemble: int
    ensemble_min_batches: int
    min_batches_per_round: int


class HGDAggerTrainer(Trainer):
    """The learner drives, a person corrects; BC on every correction after each round."""

    budget_unit = "env_steps"

    def __init__(self, cfg: DAggerConfig, ctx: RunContext, corrector: Corrector, settings: LearnerSettings):
        self._cfg, self._settings, self.corrector = cfg, settings, corrector
        self.learner = BCLearner(
            ctx.observation_space,
            ctx.action_space,
            rng=ctx.rng,
            members=settings.ensemble if settings.query == "uncertain" else 1,
            net_arch=cfg.net_arch,
            batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            ent_weight=cfg.ent_weight,
            logger=ctx.logger,
        )
        # Labels: the dataset's demos (when asked), corrections resumed from the store, then this run's.
        self._obs: list[np.ndarray] = []
        self._acts: list[np.ndarray] = []
        self._next: list[np.ndarray] = []
        self._dones: list[np.ndarray] = []
        if cfg.use_demos and len(ctx.demos):
            t = ctx.demos.to_transitions()
            self._add(t.obs, t.acts, t.next_obs, t.dones)
        prior = corrector.prior_labels()
        self.resumed_labels = len(prior)
        self._add(prior.obs, prior.acts, prior.next_obs, prior.dones)
        self._own_from = len(self._acts)  # label chunks from here on are this run's (kept in checkpoints)
        self.rounds: list[dict[str, Any]] = []
        self._steps = 0
        self.labels = 0
        self.asked = 0
        self.approved = 0
        self.stopped_by: Optional[str] = None
        self._retrain()

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
            min_batches=self._settings.min_batches_per_round,
            member_min_batches=self._settings.ensemble_min_batches,
        )

    def train(self, budget: int, progress: Progress) -> None:
        corrector = self.corrector
        try:
            end = self._steps + budget  # after a resume, _steps already counts the killed run's rounds
            while self._steps < end:
                round_no = len(self.rounds)
                result = corrector.run_round(self.learner, round_no, min(self._cfg.round_steps, end - self._steps))
                self._record_round(result)
                if result.acts:
                    self._add(
                        np.stack(result.obs),
                        np.asarray(result.acts),
                        np.stack(result.next_obs),
                        np.asarray(result.dones),
                    )
                    total = self.labels + self.resumed_labels
                    corrector.message(f"round {round_no} done: retraining on {total} labels...")
                    self._retrain()
                progress(result.steps)
                if result.stopped_by:
                    self.stopped_by = result.stopped_by
                    print(
                        f"irlkit: corrections stopped ({result.stopped_by}) after {self._steps} steps; "
                        f"every label given is stored in {corrector.dataset_path}",
                        file=sys.stderr,
                    )
                    break
        finally:
            corrector.close()

    def _record_round(self, r: RoundResult) -> None:
        self._steps += r.steps
        self.labels += r.labels
        self.asked += r.asked
        self.approved += r.approved
        row = {
            "round": r.round,
            "steps": r.steps,
            "labels": r.labels,
            "asked": r.asked,
            "approved": r.approved,
            "episodes": len(r.episodes),
            "return_mean": float(np.mean(r.returns)) if r.returns else None,
        }
        self.rounds.append(row)
        ret = f"{row['return_mean']:.1f}" if row["return_mean"] is not None else "-"
        print(
            f"irlkit: round {r.round}: {r.steps} steps, {r.labels} labels ({self.labels} in all), "
            f"{r.asked} asked, {r.approved} approved, episode return {ret}",
            file=sys.stderr,
            flush=True,
        )

    def checkpoint(self) -> Checkpoint:
        """The run's counters, its rounds and the corrections it trained on (the demos and the
        labels resumed from the store are rebuilt by the fresh trainer). Every correction is also
        in the corrections dataset as given; those of the round a kill interrupted are stored
        there (the journal) but not trained on by the resumed run. Not restored: the learner's exact
        weights (retrained on the same labels) and the episode the person was in."""
        own = slice(self._own_from, None)
        arrays = {}
        if self._acts[own]:
            arrays = {
                "hg_dagger.obs": np.concatenate(self._obs[own]),
                "hg_dagger.acts": np.concatenate(self._acts[own]),
                "hg_dagger.next_obs": np.concatenate(self._next[own]),
                "hg_dagger.dones": np.concatenate(self._dones[own]),
            }
        meta = {
            "steps": self._steps,
            "labels": self.labels,
            "asked": self.asked,
            "approved": self.approved,
            "rounds": self.rounds,
        }
        return Checkpoint(arrays=arrays, meta={"hg_dagger": meta})

    def restore(self, ckpt: Checkpoint) -> None:
        meta = ckpt.meta["hg_dagger"]
        self._steps, self.labels = int(meta["steps"]), int(meta["labels"])
        self.asked, self.approved = int(meta["asked"]), int(meta["approved"])
        self.rounds = list(meta["rounds"])
        if "hg_dagger.acts" in ckpt.arrays:
            a = ckpt.arrays
            self._add(a["hg_dagger.obs"], a["hg_dagger.acts"], a["hg_dagger.next_obs"], a["hg_dagger.dones"])
            self._retrain()

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
            **self.corrector.summary(),
            "labels": self.labels,
            "label_share": self.labels / steps,
            "asked_steps": self.asked,
            "asked_share": self.asked / steps,
            "approved": self.approved,
            "answers": self.labels + self.approved,
            "resumed_labels": self.resumed_labels,
            "corrections": self.corrector.dataset_path,
            "rounds": self.rounds,
            "stopped_by": self.stopped_by,
        }
