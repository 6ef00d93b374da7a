"""The score-against-labels curve of a preference run (`labels.csv`), kept across a resume."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from imitation.data import rollout

from irlkit.algos.base import RunContext

if TYPE_CHECKING:
    from irlkit.algos.preference.trainer import PreferenceTrainer


CURVE_SEED_BASE = 4_000_000
"""Start seeds of the curve's episodes: apart from the evaluator's (1,000,000), curve.csv's
(2,000,000) and the policy selection's (3,000,000), which picks the kept policy on its own starts:
a curve on those would flatter the policy it measures."""


class LabelCurve:
    """The policy's return before each query and at the end, against the labels asked so far
    (`labels.csv`): B-Pref's score-against-feedback curve, measured within one run.

    Each point plays `episodes` episodes with deterministic actions from the same seeded starts
    (imitation's `rollout`; fixed seeds apart from the final evaluation's), so the points of one
    run, and of runs with the same seed, are comparable."""

    HEADER = ["labels_asked", "labels_trained_on", "env_steps", "return_mean", "wall_s"]

    def __init__(self, ctx: RunContext, episodes: int, path: Path):
        self.ctx, self.episodes, self.path = ctx, int(episodes), path
        self.enabled = self.episodes > 0
        self._seed = CURVE_SEED_BASE + 1000 * ctx.seed
        self._t0 = time.time()
        self.rows = 0
        """Rows written (a checkpoint keeps this many; a resumed run drops any written after it)."""
        self._before: list[list[str]] = []
        if self.enabled and path.is_file():  # a killed run's rows, kept by `restore` when it resumes
            with open(path, newline="") as f:
                self._before = [r for r in list(csv.reader(f))[1:] if r]
        if self.enabled:
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow(self.HEADER)

    def state(self) -> dict[str, Any]:
        return {"rows": self.rows, "wall_s": time.time() - self._t0}

    def restore(self, state: dict[str, Any]) -> None:
        """Keep the first `state["rows"]` rows of the killed run's labels.csv (read before this curve
        rewrote its header), and go on counting wall time from the checkpoint's."""
        self.rows = int(state["rows"])
        self._t0 = time.time() - float(state["wall_s"])
        if self.enabled:
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerows([self.HEADER, *self._before[: self.rows]])

    def measure(self, trainer: PreferenceTrainer, asked: int) -> None:
        if not self.enabled:
            return
        from irlkit.envs import make_venv

        venv = make_venv(self.ctx.env_cfg, seed=self._seed, n_envs=self.episodes)
        try:
            trajs = rollout.generate_trajectories(
                trainer.kept_policy,
                venv,
                rollout.make_min_episodes(self.episodes),
                rng=np.random.default_rng(self._seed),
                deterministic_policy=True,
            )
        finally:
            venv.close()
        returns = [float(np.sum(t.rews)) for t in trajs[: self.episodes]]
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(
                [
                    asked,
                    len(trainer.dataset),
                    trainer.num_timesteps,
                    float(np.mean(returns)),
                    round(time.time() - self._t0, 2),
                ]
            )
        self.rows += 1
