"""Keep the policy whose behaviour looks most like the demos: selection without the env's reward.

Off-policy imitation learners often reach the demonstrator and then lose it (the classic suite's
failed runs scored 1.0 at 10k-30k env steps and 0.0-0.5 at 50k, BENCHMARKS.md), and an imitation
learner may not peek at the env's reward to pick its best moment. What it may use is the demos:
at `points` evenly spaced env steps the current policy plays a few episodes (fixed start seeds, apart from the
evaluator's), and the energy distance (Szekely & Rizzo 2013) between the (state, step within the
episode) pairs it visited and the demos', each feature scaled by the demos' spread, scores it. The
policy with the smallest distance so far is kept, and is the run's policy at the end. Energy
distance needs no bandwidth or other setting, is zero only for equal distributions, and compares
whole distributions, so a policy that drifts off the demos' track or ends its episodes early
scores worse. The step is there because a finite-horizon policy is its time-indexed occupancy:
on states alone a car that reaches the flag late, or on some episodes only, visits much the same
states as the demos (seals MountainCar, BENCHMARKS.md); `with_time: false` drops it.

These episodes are extra env steps, outside `algo.budget`; eval.json reports them
(`selection_env_steps`), and `algo.select_policy.max_steps_share` caps them at a share of the
budget by cutting every selection episode at the same length (an odd budget on an env with long
episodes, Hopper's 1,000 steps at a 2,345-step budget, had spent 14x the budget on selection). The learned reward is not selected: the discriminator keeps training.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

import numpy as np
import torch as th

from irlkit.algos.configs import PolicySelectionConfig
from irlkit.errors import IrlkitError

DEFAULT_POINTS = {"sqil": 10, "airl": 10, "gail": 10, "preference": 10}
"""`algo.select_policy.points` when it is None, per algorithm (BENCHMARKS.md, "Keeping the policy
closest to the demos", classic suite, 50k env steps, paired with runs that kept their last policy):

- SQIL 10: its policies reach the demonstrator within 10k env steps and often lose it later
  (probably its 0 reward for the learner's own transitions, which pulls Q down once they look like
  the demos'); selection raised its IQM from 0.87 to 1.00 and its lowest run from 0.14 to 0.90.
- AIRL 10: it rescued every collapsed run (CartPole seed 0 0.43 -> 0.99, MountainCarContinuous
  -0.14 -> 1.01 and 0.32 -> 1.01); it lost on seals MountainCar seed 2 (0.75 -> 0.49) and
  CartPole seed 3 (1.00 -> 0.93).
- GAIL 10 since the distance sees time (`with_time`): MountainCarContinuous 0.56 -> 1.01 (two
  collapses to -0.05 rescued), seals MountainCar 0.67 -> 0.81; on states alone it had kept worse
  MountainCar policies (a car that reaches the flag late looks like one on time: 0.95 -> 0.26).
"""

SELECT_SEED_BASE = 3_000_000
"""Start seeds of the selection episodes: `SELECT_SEED_BASE + 1000 * seed + i`, never the
evaluator's (`irlkit.evaluate.EVAL_SEED_BASE`), so the final score is not the selection's own."""

MAX_SAMPLES = 2000
"""States per side of the energy distance (subsampled with a fixed generator beyond this)."""


def energy_distance(x: np.ndarray, y: np.ndarray) -> float:
    """2 E|X - Y| - E|X - X'| - E|Y - Y'| over the rows of `x` and `y` (>= 0; 0 iff equal laws)."""
    a = th.as_tensor(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
    b = th.as_tensor(np.asarray(y, dtype=np.float64).reshape(len(y), -1))
    return float(2.0 * th.cdist(a, b).mean() - th.cdist(a, a).mean() - th.cdist(b, b).mean())


def _subsample(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(x) <= MAX_SAMPLES:
        return x
    return x[rng.choice(len(x), size=MAX_SAMPLES, replace=False)]


def steps_in_episode(dones: np.ndarray) -> np.ndarray:
    """Each row's step within its episode, for rows of whole episodes that end where `dones` is set."""
    dones = np.asarray(dones, dtype=bool)
    if not len(dones):
        return np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.flatnonzero(dones[:-1]) + 1])
    return np.arange(len(dones)) - np.repeat(starts, np.diff(np.append(starts, len(dones))))


def demo_states(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """A demos-store dataset's states and each one's step within its episode (the selector's input)."""
    t = dataset.to_transitions(terminal="done")  # every episode end marked, truncations too
    return np.asarray(t.obs, dtype=np.float64), steps_in_episode(t.dones)


def make_selector(
    cfg: PolicySelectionConfig,
    env_cfg: Any,
    demo_obs: np.ndarray,
    seed: int,
    *,
    budget: int,
    algo: str,
    demo_steps: np.ndarray,
) -> Optional["DemoMatchSelector"]:
    """The selector `cfg` asks for (None when its points resolve to 0), or a one-paragraph error."""
    points = DEFAULT_POINTS.get(algo, 0) if cfg.points is None else cfg.points
    if points < 0 or cfg.episodes < 1 or points > budget:
        raise IrlkitError(
            f"algo.select_policy needs 0 <= points <= algo.budget ({budget}; 0 = off) and episodes >= 1, got "
            f"points={points}, episodes={cfg.episodes}: for {algo}, set e.g. algo.select_policy.points=10 "
            "algo.select_policy.episodes=3, or algo.select_policy.points=0 to keep the last policy."
        )
    if points == 0:
        return None
    share = cfg.max_steps_share
    if share is not None and (not share > 0 or episode_step_cap(budget, points, cfg.episodes, share) < 1):
        raise IrlkitError(
            f"algo.select_policy.max_steps_share={share} leaves the selection episodes less than one env step "
            f"each ({points} points x {cfg.episodes} episodes within {share} x algo.budget={budget}): set a "
            "share > 0 (2.0: selection costs at most twice the budget; null: no cap), or fewer "
            "algo.select_policy.points or episodes."
        )
    return DemoMatchSelector(cfg, env_cfg, demo_obs, seed, budget=budget, points=points, demo_steps=demo_steps)


def selection_rounds(budget: int, points: int) -> int:
    """How many times the policy is scored: at every `budget // points` env steps and at the end."""
    every = max(1, budget // points)
    return budget // every + (1 if budget % every else 0)


def episode_step_cap(budget: int, points: int, episodes: int, share: float) -> int:
    """The steps each selection episode may play so that all of them stay within `share * budget`."""
    return int(share * budget) // (selection_rounds(budget, points) * episodes)


class DemoMatchSelector:
    """Scores the learner's policy against the demos' states and keeps the closest one seen."""

    def __init__(
        self,
        cfg: PolicySelectionConfig,
        env_cfg: Any,
        demo_obs: np.ndarray,
        seed: int,
        *,
        budget: int,
        points: int,
        demo_steps: np.ndarray,
    ) -> None:
        self.cfg, self._env_cfg, self.budget = cfg, env_cfg, budget
        self.every = max(1, budget // points)
        share = cfg.max_steps_share
        self.step_cap = None if share is None else episode_step_cap(budget, points, cfg.episodes, share)
        """Steps each selection episode may play (None: whole episodes); the same at every point."""
        demo_obs = np.asarray(demo_obs, dtype=np.float64).reshape(len(demo_obs), -1)
        demo_steps = np.asarray(demo_steps, dtype=np.float64)
        if len(demo_steps) != len(demo_obs):
            raise ValueError(f"{len(demo_obs)} demo states but {len(demo_steps)} steps within their episodes")
        if self.step_cap is not None and (demo_steps >= self.step_cap).any():
            keep = demo_steps < self.step_cap  # cut episodes are compared with the demos' same stretch
            demo_obs, demo_steps = demo_obs[keep], demo_steps[keep]
        self._mean = demo_obs.mean(axis=0)
        std = demo_obs.std(axis=0)
        self._scale = np.where(std > 1e-8, std, 1.0)  # a feature the demos never vary keeps its units
        self._time_scale = max(float(demo_steps.std()), 1.0) if cfg.with_time else 0.0
        demo = self._standardize(demo_obs, demo_steps)
        self._demo = _subsample(demo, np.random.default_rng(seed))
        self._seeds = [SELECT_SEED_BASE + 1000 * seed + i for i in range(cfg.episodes)]
        self._seed = seed
        self.best_state: Optional[dict[str, Any]] = None
        self.best_distance = float("inf")
        self.best_step = -1
        self.history: list[tuple[int, float]] = []
        self.env_steps = 0

    def due(self, step: int) -> bool:
        """Selection points: every `self.every` env steps, and the last step of the run."""
        return step % self.every == 0 or step == self.budget

    def _standardize(self, obs: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """States in demo-std units, with `with_time` their step within the episode as one more feature."""
        z = (np.asarray(obs, dtype=np.float64).reshape(len(obs), -1) - self._mean) / self._scale
        if not self._time_scale:
            return z
        return np.concatenate([z, np.asarray(steps, dtype=np.float64)[:, None] / self._time_scale], axis=1)

    def distance(self, policy: Any) -> float:
        """Energy distance between `policy`'s selection episodes and the demos, in demo-std units."""
        from irlkit.envs.episodes import run_episodes

        rollouts = run_episodes(
            self._env_cfg, policy, self._seeds, deterministic=self.cfg.deterministic, max_steps=self.step_cap
        )
        self.env_steps += len(rollouts.obs)
        visited = self._standardize(rollouts.obs, steps_in_episode(rollouts.dones))
        return energy_distance(_subsample(visited, np.random.default_rng(self._seed + 1)), self._demo)

    def consider(self, step: int, policy: Any) -> float:
        """Score `policy` (an SB3 policy module) at env step `step`; keep its weights if closest so far."""
        d = self.distance(policy)
        self.history.append((step, d))
        if d < self.best_distance:
            self.best_distance, self.best_step = d, step
            self.best_state = copy.deepcopy(policy.state_dict())
        return d

    def restore_best(self, policy: Any) -> None:
        if self.best_state is not None:
            policy.load_state_dict(self.best_state)

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(tensors, meta) for a checkpoint."""
        tensors = {"best": self.best_state} if self.best_state is not None else {}
        meta = {
            "best_distance": self.best_distance if self.best_state is not None else None,
            "best_step": self.best_step,
            "history": [[s, d] for s, d in self.history],
            "env_steps": self.env_steps,
        }
        return tensors, meta

    def load_state(self, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
        self.best_state = tensors.get("best")
        self.best_distance = float("inf") if meta["best_distance"] is None else float(meta["best_distance"])
        self.best_step = int(meta["best_step"])
        self.history = [(int(s), float(d)) for s, d in meta["history"]]
        self.env_steps = int(meta["env_steps"])

    def summary(self) -> dict[str, Any]:
        return {
            "selected_step": self.best_step,
            "selected_distance": self.best_distance,
            "selection_env_steps": self.env_steps,
            "selection_episode_steps_cap": self.step_cap,
            "selection_history": [[s, round(d, 6)] for s, d in self.history],
        }


class LearnedReturnSelector:
    """Preference learning's selection: it has no demos, so it keeps the policy whose own episodes
    the *current* learned reward rates highest. At each point the policy plays the selection
    episodes once and its weights and transitions are kept; every reward update re-scores all the
    candidates so far (forward passes only, no env steps), so an early policy that the first labels
    undervalued can still be kept once later labels say what it did was right.

    An episode that terminates continues in the absorbing state to the horizon (the env's time
    limit, or `step_cap`), as the fragments the labels were given on do, so a policy that ends its
    episodes early is paid what the labels say ending is worth, not rewarded for a shorter sum.

    :param score: `(obs, acts, next_obs, terminated, horizon_left) -> learned return of each
        episode` is supplied by the trainer (`set_score`); None until the first reward update, when
        the candidates are kept but none is preferred (the last one is the run's policy).
    """

    def __init__(self, cfg: PolicySelectionConfig, env_cfg: Any, seed: int, *, steps: list[int]) -> None:
        from irlkit.envs.make import episode_limit

        self.cfg, self._env_cfg = cfg, env_cfg
        self.steps = sorted(set(int(s) for s in steps))
        """The env steps at which the policy is a candidate."""
        share = cfg.max_steps_share
        budget = self.steps[-1]
        self.step_cap = None if share is None else int(share * budget) // (len(self.steps) * cfg.episodes)
        if self.step_cap is not None and self.step_cap < 1:
            raise IrlkitError(
                f"algo.select_policy.max_steps_share={share} leaves the selection episodes less than one env step "
                f"each ({len(self.steps)} points x {cfg.episodes} episodes within {share} x algo.budget={budget}): "
                "set a larger share (null: no cap), fewer algo.select_policy.episodes, or algo.select_policy.points=0."
            )
        caps = [c for c in (episode_limit(env_cfg), self.step_cap) if c is not None]
        self.horizon = min(caps) if caps else None
        """Steps an episode is scored over (terminated ones continue absorbing up to it); None: as played."""
        self._seeds = [SELECT_SEED_BASE + 1000 * seed + i for i in range(cfg.episodes)]
        self.candidates: list[dict[str, Any]] = []
        self.scores: list[float] = []
        self.score: Optional[Any] = None
        self.best_state: Optional[dict[str, Any]] = None
        self.best_step = -1
        self.env_steps = 0

    def due(self, step: int) -> bool:
        return step in self.steps and all(c["step"] != step for c in self.candidates)

    def consider(self, step: int, policy: Any) -> Optional[float]:
        """Play `policy`'s selection episodes at env step `step`, keep it as a candidate, re-score."""
        from irlkit.envs.episodes import run_episodes

        r = run_episodes(
            self._env_cfg, policy, self._seeds, deterministic=self.cfg.deterministic, max_steps=self.step_cap
        )
        self.env_steps += len(r.obs)
        self.candidates.append(
            {
                "step": step,
                "state": copy.deepcopy(policy.state_dict()),
                "obs": r.obs,
                "acts": r.acts,
                "next_obs": r.next_obs,
                "dones": r.dones,
                "terminated": r.terminated,
            }
        )
        self.rescore()
        return self.scores[-1] if self.scores else None

    def set_score(self, score: Any) -> None:
        """The learned reward changed: re-score every candidate with it."""
        self.score = score
        self.rescore()

    def _episode_returns(self, c: dict[str, Any]) -> np.ndarray:
        assert self.score is not None
        dones = np.asarray(c["dones"], dtype=bool)
        ends = np.flatnonzero(dones)
        starts = np.concatenate([[0], ends[:-1] + 1])
        lengths = ends - starts + 1
        horizon_left = np.zeros(len(dones), dtype=np.int64)
        if self.horizon is not None:
            horizon_left[ends] = np.maximum(self.horizon - lengths, 0)
        per_step = np.asarray(self.score(c["obs"], c["acts"], c["next_obs"], c["terminated"], horizon_left))
        return np.add.reduceat(per_step, starts) if len(per_step) else np.zeros(0)

    def rescore(self) -> None:
        if self.score is None or not self.candidates:
            if self.candidates:  # no learned reward yet: the newest policy stands
                self.best_state, self.best_step = self.candidates[-1]["state"], self.candidates[-1]["step"]
            return
        self.scores = [float(np.mean(self._episode_returns(c))) for c in self.candidates]
        best = int(np.argmax(self.scores))
        self.best_state, self.best_step = self.candidates[best]["state"], self.candidates[best]["step"]

    def restore_best(self, policy: Any) -> None:
        if self.best_state is not None:
            policy.load_state_dict(self.best_state)

    def best_policy(self, policy: Any) -> Any:
        """A copy of `policy` holding the kept weights (the policy the run would end with now)."""
        if self.best_state is None:
            return policy
        kept = copy.deepcopy(policy)
        kept.load_state_dict(self.best_state)
        return kept

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(tensors, meta) for a checkpoint: every candidate's weights and episodes."""
        tensors = {
            str(i): {
                "state": c["state"],
                **{k: th.as_tensor(np.asarray(c[k])) for k in ("obs", "acts", "next_obs", "dones", "terminated")},
            }
            for i, c in enumerate(self.candidates)
        }
        meta = {"steps": [c["step"] for c in self.candidates], "env_steps": self.env_steps}
        return tensors, meta

    def load_state(self, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
        self.candidates = []
        for i, step in enumerate(meta["steps"]):
            t = tensors[str(i)]
            self.candidates.append(
                {
                    "step": int(step),
                    "state": t["state"],
                    **{k: t[k].numpy() for k in ("obs", "acts", "next_obs", "dones", "terminated")},
                }
            )
        self.env_steps = int(meta["env_steps"])
        self.rescore()

    def summary(self) -> dict[str, Any]:
        return {
            "selected_step": self.best_step,
            "selected_learned_return": float(max(self.scores)) if self.scores else None,
            "selection_env_steps": self.env_steps,
            "selection_episode_steps_cap": self.step_cap,
            "selection_history": [[c["step"], round(s, 6)] for c, s in zip(self.candidates, self.scores)],
        }
