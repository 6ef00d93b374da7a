"""Preference learning from few labels: PEBBLE (Lee et al. 2021, "PEBBLE: Feedback-Efficient
Interactive Reinforcement Learning via Relabeling Experience and Unsupervised Pre-training") on
the preference-comparisons recipe of Christiano et al. 2017.

One run, for a budget of env steps spent exactly and `total_comparisons` pairs asked exactly:

1. The learner explores first (`pretrain_steps`, rewarded by state entropy), so the first pairs
   already cover the state space.
2. At `num_iterations + 1` evenly spaced steps the annotator is asked a share of the comparisons
   (`query_schedule`), pairs chosen by `query` (uniform, or by the reward ensemble's disagreement
   or entropy: `irlkit.algos.queries`); the reward ensemble then retrains on every label so far
   (`irlkit.algos.preference_rewards`).
3. The learner, SAC for Box actions and DQN for Discrete ones, samples replay batches whose rewards
   are computed by the *current* reward model (`irlkit.algos.relabel`), so the whole replay buffer
   is relabelled by each update. PPO (`learner=ppo`) trains on the current model's rewards as it
   collects them.

The annotator is pluggable through imitation's seam, a `PreferenceGatherer`: a simulated B-Pref
teacher (`irlkit.algos.teachers`, for benchmarks), a person in the browser or a saved preference
dataset (`irlkit.feedback`), registered in `GATHERERS` by name. Each query's pairs reach it most
informative first. A pair answered with NaN (skipped) is asked, counted, and never trained on.

Imitation's `PreferenceComparisons` is not used for the loop: it samples its fragments with extra
env steps beyond the budget (10,000 asked -> 32,768 spent), crashes when the first query gets no
comparisons (`total_comparisons=8`), and trains only on-policy learners.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
import math
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
from imitation.algorithms import preference_comparisons as pc
from imitation.data import rollout, types
from imitation.data.types import TrajectoryWithRew
from imitation.data.wrappers import BufferingWrapper
from imitation.rewards.reward_nets import RewardNet
from imitation.util import util as imit_util
from stable_baselines3.common.callbacks import BaseCallback

from irlkit.algos.base import Progress, RLTrainer, RunContext, make_ppo
from irlkit.algos.configs import PreferenceConfig
from irlkit.algos.preference_rewards import (
    EnvSpaceReward,
    LearnerReward,
    PreferenceRewardTrainer,
    StateEntropyBonus,
    StatePool,
    make_reward_model,
    reward_members,
)
from irlkit.algos.relabel import AbsorbingStates
from irlkit.algos.queries import QUERIES, InformativeFragmenter, member_fragment_returns
from irlkit.algos.teachers import make_teacher
from irlkit.errors import IrlkitError

GathererFactory = Callable[[PreferenceConfig, dict[str, Any], RunContext], pc.PreferenceGatherer]
"""(algo config, the `feedback` config as a dict, run context) -> an imitation PreferenceGatherer."""


def _synthetic(cfg: PreferenceConfig, feedback: dict[str, Any], ctx: RunContext) -> pc.PreferenceGatherer:
    fields = {k: v for k, v in feedback.items() if k != "kind"}
    return make_teacher(fields, cfg.fragment_length, ctx.rng, ctx.logger)


GATHERERS: dict[str, GathererFactory | str] = {
    "synthetic": _synthetic,
    "human": "irlkit.feedback.gatherer:make_human_gatherer",
    "dataset": "irlkit.feedback.dataset_gatherer:make_dataset_gatherer",
}
"""Annotators by name: a factory, or its `module:function` path (imported only when chosen, so
the web server and clip rendering cost nothing to runs that do not use them)."""


def _gatherer(cfg: PreferenceConfig, ctx: RunContext) -> pc.PreferenceGatherer:
    feedback = dict(ctx.feedback or {"kind": "synthetic"})
    kind = feedback.get("kind", "synthetic")
    if kind not in GATHERERS:
        raise IrlkitError(f"feedback={kind!r} is not a known annotator; choose one of {sorted(GATHERERS)}")
    factory = GATHERERS[kind]
    if isinstance(factory, str):
        module, name = factory.split(":")
        factory = getattr(importlib.import_module(module), name)
    return factory(cfg, feedback, ctx)


# ------------------------------------------------------------------------------------------------
# the schedule: how many pairs at which env step
# ------------------------------------------------------------------------------------------------
def label_schedule(cfg: PreferenceConfig) -> list[int]:
    """Pairs asked at each query, summing to `total_comparisons` exactly; no query asks for none.

    The first query asks `initial_comparison_frac` of them (at least one); the others are spread
    over `num_iterations` later queries by `query_schedule`, rounded so the total is exact."""
    total = int(cfg.total_comparisons)
    if total < 1:
        raise IrlkitError(f"algo.total_comparisons={total}: the annotator must be asked at least one pair (any value >= 1 works)")
    if cfg.num_iterations < 0:
        raise IrlkitError(f"algo.num_iterations={cfg.num_iterations} must be >= 0 (0: one query, before any reward update)")
    if not 0.0 <= cfg.initial_comparison_frac <= 1.0:
        raise IrlkitError(f"algo.initial_comparison_frac={cfg.initial_comparison_frac} must lie in [0, 1]")
    if cfg.query_schedule not in pc.QUERY_SCHEDULES:
        raise IrlkitError(f"algo.query_schedule={cfg.query_schedule!r} is not one of {', '.join(pc.QUERY_SCHEDULES)}")
    first = min(total, max(1, int(round(total * cfg.initial_comparison_frac))))
    rest = total - first
    if rest == 0 or cfg.num_iterations == 0:
        return [total]
    weights = np.vectorize(pc.QUERY_SCHEDULES[cfg.query_schedule])(np.linspace(0, 1, cfg.num_iterations))
    shares = imit_util.oric(weights / weights.sum() * rest)
    return [first] + [int(s) for s in shares if s > 0]


@dataclasses.dataclass(frozen=True)
class QueryPlan:
    """When the annotator is asked (env steps done before each query) and how many pairs."""

    steps: list[int]
    pairs: list[int]

    @property
    def first(self) -> int:
        return self.steps[0]


def query_plan(cfg: PreferenceConfig, *, budget: int, n_envs: int, unit: int) -> QueryPlan:
    """Queries at evenly spaced env steps from the first one on, each a multiple of `unit` (the
    learner's step: one env step for off-policy learners, a whole rollout for PPO), so every
    query is followed by the same amount of training.

    The first query comes after the pre-training steps, and not before every env has produced
    two fragments' worth of steps (fewer would leave nothing to choose pairs from). A budget that
    ends there is refused, naming the minimum."""
    pairs = label_schedule(cfg)
    length = int(cfg.fragment_length)
    if length < 1:
        raise IrlkitError(f"algo.fragment_length={length} must be >= 1")
    if cfg.pretrain_steps < 0:
        raise IrlkitError(f"algo.pretrain_steps={cfg.pretrain_steps} must be >= 0")
    first = max(int(cfg.pretrain_steps), n_envs * 2 * length)
    first = -(-first // unit) * unit
    minimum = first + unit
    if budget < minimum:
        why = (f"algo.pretrain_steps={cfg.pretrain_steps} steps of exploration" if cfg.pretrain_steps * 1 >= n_envs * 2 * length
               else f"{n_envs} env(s) x 2 fragments of algo.fragment_length={length} steps")
        raise IrlkitError(
            f"algo.budget={budget} env steps is too small for preference learning with these settings: the first "
            f"query comes after {first} steps ({why}, rounded up to the learner's step of {unit}), and the learner "
            f"needs at least one step of {unit} after it, so the budget must be at least {minimum}. Raise algo.budget "
            "to that, or lower algo.pretrain_steps / algo.fragment_length."
        )
    span = budget - first
    steps = [first + (k * span // len(pairs)) // unit * unit for k in range(len(pairs))]
    return QueryPlan(steps=steps, pairs=pairs)


# ------------------------------------------------------------------------------------------------
# where fragments come from
# ------------------------------------------------------------------------------------------------
class FragmentRecorder(BufferingWrapper):
    """imitation's BufferingWrapper (which keeps the true rewards, for the simulated teacher and
    the labelling page) that also keeps every observation for the state-entropy bonus."""

    def __init__(self, venv: Any, states: StatePool):
        super().__init__(venv, error_on_premature_reset=False)
        self.states = states

    def reset(self, **kwargs: Any) -> Any:
        obs = super().reset(**kwargs)
        self.states.add(obs)
        return obs

    def step_wait(self) -> Any:
        obs, rews, dones, infos = super().step_wait()
        self.states.add(obs)
        return obs, rews, dones, infos


class TrajectoryPool:
    """Every trajectory (piece) recorded so far: the fragments of a query are drawn from all of it
    (PEBBLE draws from its whole replay buffer).

    With absorbing states (envs whose episodes terminate), trajectories are kept in the reward
    model's input space: observations carry the absorbing indicator, and an episode that
    terminated continues for `fragment_length - 1` steps in the absorbing state with true reward 0
    (seals' absorb-after-done), so a fragment may run past the end of an episode and the labels
    say what ending is worth."""

    def __init__(self, recorder: FragmentRecorder, absorbing: Optional[AbsorbingStates] = None, fragment_length: int = 1):
        self.recorder = recorder
        self.absorbing = absorbing
        self.fragment_length = fragment_length
        self.trajectories: list[TrajectoryWithRew] = []

    def refresh(self) -> list[TrajectoryWithRew]:
        new, _ = self.recorder.pop_trajectories()
        self.trajectories.extend(self._model_space(t) for t in new if len(t) > 0)
        return self.trajectories

    def _model_space(self, traj: TrajectoryWithRew) -> TrajectoryWithRew:
        ab = self.absorbing
        if ab is None:
            return traj
        obs, acts, rews = ab.pad(np.asarray(traj.obs)), np.asarray(traj.acts), np.asarray(traj.rews, dtype=np.float32)
        if traj.terminal:
            # DAC: the terminal observation becomes the absorbing state, which then loops on itself.
            n = self.fragment_length - 1
            obs = np.concatenate([obs[:-1], ab.absorbing(n + 1)])
            acts = np.concatenate([acts, ab.absorbing_actions(n).reshape((n, *acts.shape[1:])).astype(acts.dtype)])
            rews = np.concatenate([rews, np.zeros(n, np.float32)])
        return TrajectoryWithRew(obs=obs, acts=acts, infos=None, terminal=traj.terminal, rews=rews)

    def longest(self) -> int:
        return max((len(t) for t in self.trajectories), default=0)

    def sample_transitions(self, n: int, rng: np.random.Generator) -> Optional[tuple[np.ndarray, ...]]:
        if not self.trajectories:
            return None
        trans = rollout.flatten_trajectories(self.trajectories[-2000:])
        idx = rng.integers(0, len(trans), size=min(n, len(trans)))
        obs = types.assert_not_dictobs(trans.obs)
        next_obs = types.assert_not_dictobs(trans.next_obs)
        return obs[idx], trans.acts[idx], next_obs[idx], trans.dones[idx].astype(np.float32)


# ------------------------------------------------------------------------------------------------
# the trainer
# ------------------------------------------------------------------------------------------------
class PreferenceTrainer(RLTrainer):
    def __init__(self, cfg: PreferenceConfig, ctx: RunContext):
        from irlkit.algos.learners import check_budget, make_learner, resolve_learner

        self._cfg = cfg
        self._ctx = ctx
        if cfg.query not in QUERIES:
            raise IrlkitError(f"algo.query={cfg.query!r} is not a query method; choose one of {', '.join(QUERIES)} (B-Pref)")
        if cfg.ensemble_size < 1:
            raise IrlkitError(f"algo.ensemble_size={cfg.ensemble_size} must be >= 1")
        if cfg.query != "uniform" and cfg.ensemble_size < 2:
            raise IrlkitError(
                f"algo.query={cfg.query} ranks pairs by how a reward ensemble's members disagree, which needs "
                f"algo.ensemble_size >= 2 (it is {cfg.ensemble_size}); raise it, or use algo.query=uniform."
            )
        self.kind = resolve_learner(cfg.learner, ctx.action_space, algo="preference")
        budget = int(cfg.budget)
        self.states = StatePool()
        gamma = {"sac": cfg.sac.gamma, "dqn": cfg.dqn.gamma, "ppo": cfg.ppo.gamma}[self.kind]
        # Episodes that can end by termination get DAC's absorbing state (Kostrikov et al. 2019):
        # without it a learned reward, whose offset no label fixes, pays for ending episodes or for
        # avoiding their end (on MountainCarContinuous: the car learns to stay put).
        self.absorbing = AbsorbingStates(ctx.observation_space, ctx.action_space, gamma) if ctx.variable_horizon else None
        self.reward = LearnerReward(self.absorbing, closed_form=self.kind != "ppo")
        if self.kind == "ppo":
            from imitation.rewards.reward_wrapper import RewardVecEnvWrapper

            n_envs = ctx.venv.num_envs
            if budget % n_envs:
                raise IrlkitError(
                    f"algo.budget={budget} is not a multiple of env.n_envs={n_envs}: PPO steps all envs at once, so "
                    f"the budget could not be spent exactly. Use {budget // n_envs * n_envs or n_envs} or "
                    f"{(budget // n_envs + 1) * n_envs}."
                )
            unit = cfg.ppo.n_steps * n_envs
            self.recorder = FragmentRecorder(ctx.venv, self.states)
            self.plan = query_plan(cfg, budget=budget, n_envs=n_envs, unit=unit)
            self.rl = make_ppo(cfg.ppo, RewardVecEnvWrapper(self.recorder, reward_fn=self.reward), seed=ctx.seed)
            self._own_venv = None
        else:
            from irlkit.envs import make_venv

            learner_cfg = cfg.sac if self.kind == "sac" else cfg.dqn
            check_budget(self.kind, learner_cfg, budget, algo="preference")
            self.plan = query_plan(cfg, budget=budget, n_envs=1, unit=1)
            # Off-policy learners step one env, so a budget of env steps is spent exactly.
            self._own_venv = make_venv(ctx.env_cfg, seed=ctx.seed, n_envs=1)
            self.recorder = FragmentRecorder(self._own_venv, self.states)
            self.rl = make_learner(self.kind, learner_cfg, self.recorder, seed=ctx.seed, budget=budget)
            self.rl.replay_buffer.reward_fn = self.reward
        self.rl.set_logger(ctx.logger)  # imitation's HierarchicalLogger is an SB3 Logger
        if cfg.pretrain_steps > 0:
            self.reward.entropy = StateEntropyBonus(self.states, k=cfg.entropy_k, rng=np.random.default_rng(ctx.seed + 1))
            self.reward.mode = "entropy"

        model_space = self.absorbing.space if self.absorbing is not None else ctx.observation_space
        self._reward_net = make_reward_model(model_space, ctx.action_space, hid_sizes=cfg.reward_net_arch,
                                             use_action=cfg.reward_use_action, members=cfg.ensemble_size)
        self.reward_trainer = PreferenceRewardTrainer(self._reward_net, lr=cfg.reward_lr, batch_size=cfg.reward_batch_size,
                                                      target_accuracy=cfg.reward_target_accuracy, rng=ctx.rng,
                                                      prepare=self._model_space_fragment if self.absorbing else None)
        self.fragmenter = InformativeFragmenter(cfg.query, rng=ctx.rng, candidates=cfg.query_candidates,
                                                logger=ctx.logger)
        self.pool = TrajectoryPool(self.recorder, self.absorbing, cfg.fragment_length)
        self.dataset: pc.PreferenceDataset = SkippablePreferenceDataset()
        self.gatherer = _gatherer(cfg, ctx)
        attach = getattr(self.gatherer, "attach", None)
        if callable(attach):  # annotators that push their own answers (irlkit.feedback) install their dataset
            attach(self)
        self.asked = 0
        self.queries_done = 0
        self.reward_updates = 0
        self.last_reward_accuracy: Optional[float] = None
        self._steps = 0
        self._curve = LabelCurve(ctx, cfg.label_curve_episodes, Path(ctx.run_dir) / "labels.csv")

    # -- one query -------------------------------------------------------------------------------
    def query(self) -> None:
        k = self.queries_done
        n_pairs = self.plan.pairs[k]
        self._curve.measure(self, self.asked)
        trajectories = self.pool.refresh()
        length = self._cfg.fragment_length
        if self.pool.longest() < length:
            raise IrlkitError(
                f"no recorded episode is as long as algo.fragment_length={length} steps (the longest so far has "
                f"{self.pool.longest()}), so no pair of fragments can be made at query {k + 1}. Lower "
                "algo.fragment_length below the env's typical episode length."
            )
        trained = self.reward_updates > 0
        self.fragmenter.member_returns = (
            (lambda frags: member_fragment_returns(reward_members(self._reward_net), frags)) if trained else None
        )
        pairs = self.fragmenter(trajectories, length, n_pairs)
        shown = [tuple(self._env_space_fragment(f) for f in p) for p in pairs] if self.absorbing else pairs
        prefs = np.asarray(self.gatherer(shown), dtype=np.float32)
        self.dataset.push(pairs, prefs)
        self.asked += len(pairs)
        self.queries_done += 1
        log = self._ctx.logger
        log.record("preferences/asked", self.asked)
        log.record("preferences/trained_on", len(self.dataset))
        if len(self.dataset) == 0:
            log.dump(self.num_timesteps)
            return  # every answer so far was "skip": nothing to learn from yet
        epochs = self._cfg.reward_epochs * (self._cfg.initial_epoch_multiplier if self.reward_updates == 0 else 1.0)
        result = self.reward_trainer.train(self.dataset, max_epochs=int(math.ceil(epochs)))
        self.last_reward_accuracy = result.accuracy
        first_update = self.reward_updates == 0
        self.reward_updates += 1
        mean, std = self.reward.set_learned(self._reward_net, self.pool.sample_transitions(10_000, self._ctx.rng))
        if first_update and self._cfg.pretrain_steps > 0:
            _reset_critic(self.rl)  # PEBBLE: values of the exploration bonus would mislead the learner
        log.record("reward/loss", result.loss)
        log.record("reward/accuracy", result.accuracy)
        log.record("reward/epochs", result.epochs)
        log.record("reward/standardise_mean", mean)
        log.record("reward/standardise_std", std)
        log.dump(self.num_timesteps)

    def _env_space_fragment(self, frag: TrajectoryWithRew) -> TrajectoryWithRew:
        """A fragment as the annotator sees it: env observations, the absorbing steps shown as the
        last real observation repeated (the episode has ended: the picture stands still)."""
        obs = np.array(frag.obs[:, :-1])
        absorbing = frag.obs[:, -1] > 0.5
        if absorbing.any():
            real = np.flatnonzero(~absorbing)
            obs[absorbing] = obs[real[-1]] if len(real) else 0.0
        return TrajectoryWithRew(obs=obs, acts=frag.acts, infos=None, terminal=frag.terminal, rews=frag.rews)

    def _model_space_fragment(self, frag: TrajectoryWithRew) -> TrajectoryWithRew:
        """Fragments pushed by an annotator itself (a person, a saved dataset) come in env
        observations: they get the absorbing indicator 0."""
        assert self.absorbing is not None
        if np.asarray(frag.obs).shape[-1] == self.absorbing.space.shape[0]:
            return frag
        return TrajectoryWithRew(obs=self.absorbing.pad(np.asarray(frag.obs)), acts=frag.acts, infos=None,
                                 terminal=frag.terminal, rews=frag.rews)

    @property
    def num_timesteps(self) -> int:
        return int(self.rl.num_timesteps)

    # -- Trainer ---------------------------------------------------------------------------------
    def train(self, budget: int, progress: Progress) -> None:
        if budget != int(self._cfg.budget):
            raise ValueError(f"PreferenceTrainer was planned for {self._cfg.budget} env steps, asked to train {budget}")
        callback = _QueryCallback(self, budget, progress)
        self.rl.learn(total_timesteps=budget, callback=callback, reset_num_timesteps=False)
        while self.queries_done < len(self.plan.steps):  # only when learning stopped early
            self.query()
        self._steps = self.num_timesteps
        self._curve.measure(self, self.asked)

    @property
    def reward_net(self) -> RewardNet:
        return self._reward_net

    @property
    def eval_reward_net(self) -> Any:
        return EnvSpaceReward(self._reward_net, self.absorbing) if self.absorbing is not None else self._reward_net

    def save(self, run_dir: Path) -> dict[str, str]:
        if self.kind == "ppo":
            files = super().save(run_dir)
        else:
            import torch as th

            from irlkit.algos.learners import save_learner

            save_learner(self.rl, run_dir / "policy.zip")
            th.save(self._reward_net.state_dict(), run_dir / "reward_net.pt")
            files = {"policy": "policy.zip", "reward_net": "reward_net.pt"}
        if self._curve.enabled:
            files["labels_curve"] = self._curve.path.name
        if self._own_venv is not None:
            self._own_venv.close()
        return files

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "learner": self.kind,
            "query": self._cfg.query,
            "comparisons_asked": self.asked,
            "comparisons_trained_on": len(self.dataset),
            "queries": self.queries_done,
            "reward_updates": self.reward_updates,
            "reward_train_accuracy": self.last_reward_accuracy,
        }
        teacher = getattr(self.gatherer, "params", None)
        if teacher is not None:
            out["teacher"] = dataclasses.asdict(teacher)
        return out


class _QueryCallback(BaseCallback):
    """Runs the queries at their planned steps and stops the learner exactly at the budget."""

    def __init__(self, trainer: PreferenceTrainer, budget: int, progress: Progress):
        super().__init__()
        self.trainer, self.budget, self.progress = trainer, budget, progress
        self.reported = 0

    def _on_training_start(self) -> None:
        self._maybe_query()

    def _on_step(self) -> bool:
        now = self.model.num_timesteps
        self.progress(now - self.reported)
        self.reported = now
        self.trainer._steps = now
        self._maybe_query()
        return now < self.budget

    def _maybe_query(self) -> None:
        t = self.trainer
        while t.queries_done < len(t.plan.steps) and self.model.num_timesteps >= t.plan.steps[t.queries_done]:
            t.query()


class SkippablePreferenceDataset(pc.PreferenceDataset):
    """imitation's PreferenceDataset that leaves out pairs whose preference is NaN ("no answer")."""

    def push(self, fragments: Sequence[Any], preferences: np.ndarray) -> None:
        preferences = np.asarray(preferences, dtype=np.float32)
        if preferences.shape != (len(fragments),):
            raise ValueError(f"Unexpected preferences shape {preferences.shape}, expected {(len(fragments),)}")
        keep = ~np.isnan(preferences)
        if not keep.any():
            return
        super().push([f for f, k in zip(fragments, keep) if k], preferences[keep])


class LabelCurve:
    """The policy's return before each query and at the end, against the labels asked so far
    (`labels.csv`): B-Pref's score-against-feedback curve, measured within one run."""

    def __init__(self, ctx: RunContext, episodes: int, path: Path):
        self.ctx, self.episodes, self.path = ctx, int(episodes), path
        self.enabled = self.episodes > 0
        self._seeds = [3_000_000 + 1000 * ctx.seed + i for i in range(max(0, self.episodes))]
        self._t0 = time.time()
        if self.enabled:
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow(["labels_asked", "labels_trained_on", "env_steps", "return_mean", "wall_s"])

    def measure(self, trainer: PreferenceTrainer, asked: int) -> None:
        if not self.enabled:
            return
        from irlkit.evaluate import run_episodes

        rollouts = run_episodes(self.ctx.env_cfg, trainer.policy, self._seeds, deterministic=True)
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([asked, len(trainer.dataset), trainer.num_timesteps, float(np.mean(rollouts.returns)),
                                    round(time.time() - self._t0, 2)])


def _reset_critic(model: Any) -> None:
    """PEBBLE resets SAC's critics after unsupervised pre-training: Q-values of the exploration
    bonus would bias the first updates on the learned reward (the actor keeps its coverage)."""
    from stable_baselines3 import SAC

    if not isinstance(model, SAC):
        return
    for module in model.critic.modules():
        if hasattr(module, "reset_parameters") and module is not model.critic:
            module.reset_parameters()
    model.critic_target.load_state_dict(model.critic.state_dict())
    model.critic.optimizer.state.clear()


def load_reward(cfg: PreferenceConfig, observation_space: Any, action_space: Any, state: dict) -> Any:
    """The saved reward model as the reward to score on env transitions (for re-evaluation)."""
    members = len({k.split(".")[1] for k in state if k.startswith("members.")}) or 1
    sizes = [v.shape[0] for k, v in state.items() if k.endswith("normalize_input.running_mean")]
    flat_obs = int(np.prod(observation_space.shape or (1,)))
    act_dim = int(np.prod(action_space.shape)) if getattr(action_space, "shape", ()) else int(getattr(action_space, "n", 0))
    used = flat_obs + (act_dim if cfg.reward_use_action else 0)
    padded = bool(sizes) and sizes[0] == used + 1  # the run had absorbing states (its env terminates)
    absorbing = AbsorbingStates(observation_space, action_space, 0.99) if padded else None
    net = make_reward_model(absorbing.space if absorbing else observation_space, action_space,
                            hid_sizes=cfg.reward_net_arch, use_action=cfg.reward_use_action, members=members)
    net.load_state_dict(state)
    return EnvSpaceReward(net, absorbing) if absorbing else net


def build(cfg: PreferenceConfig, ctx: RunContext) -> PreferenceTrainer:
    return PreferenceTrainer(cfg, ctx)
