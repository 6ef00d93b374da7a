"""The preference-learning loop (PEBBLE, Lee et al. 2021): the learner and its env, the queries
at their planned steps, the reward updates, the label curve, and the exact stop at the budget."""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from pathlib import Path
from typing import Any, Optional, cast

import numpy as np
from imitation.algorithms import preference_comparisons as pc
from imitation.rewards.reward_nets import RewardNet
from stable_baselines3.common.callbacks import BaseCallback

from irlkit.algos.base import Progress, RLTrainer, RunContext, make_ppo
from irlkit.algos.checkpoint import Checkpoint
from irlkit.algos.configs import FeedbackConfig, PreferenceConfig
from irlkit.algos.preference.curve import LabelCurve
from irlkit.algos.preference.fragments import (
    FragmentRecorder,
    SkippablePreferenceDataset,
    TrajectoryPool,
    env_space_fragment,
    model_space_fragment,
    recent_episodes,
)
from irlkit.algos.preference.queries import QUERIES, InformativeFragmenter, member_fragment_returns
from irlkit.algos.preference.resume import preference_checkpoint, restore_preference
from irlkit.algos.preference.rewards import (
    EnvSpaceReward,
    LearnerReward,
    PreferenceRewardTrainer,
    StateEntropyBonus,
    StatePool,
    fit_input_norms,
    make_reward_model,
    reward_members,
)
from irlkit.algos.preference.saved import reward_uses_action
from irlkit.algos.preference.schedule import query_plan
from irlkit.algos.preference.selection import learned_returns, make_selector
from irlkit.algos.preference.teachers import make_teacher
from irlkit.algos.relabel import AbsorbingStates
from irlkit.errors import IrlkitError


def _gatherer(cfg: PreferenceConfig, ctx: RunContext) -> pc.PreferenceGatherer:
    """The annotator: the human side handed down by the run (`feedback=human|dataset`), else a
    simulated B-Pref teacher answering from the env's reward (`feedback=synthetic`)."""
    if ctx.human is not None:
        return ctx.human
    feedback = ctx.feedback if isinstance(ctx.feedback, FeedbackConfig) else FeedbackConfig()
    return make_teacher(feedback, cfg.fragment_length, ctx.rng, ctx.logger)


# ------------------------------------------------------------------------------------------------
# the trainer
# ------------------------------------------------------------------------------------------------
class PreferenceTrainer(RLTrainer):
    """PEBBLE's loop for a budget of env steps (module docstring of irlkit.algos.preference).

    Resumable with the off-policy learners (SAC, soft DQN): `checkpoint()` between two env steps
    keeps the learner, the reward ensemble, every label, the fragment pool and the annotator's
    round, and `python -m irlkit resume=<run folder>` continues to the full budget asking each of
    `total_comparisons` once; the env's episode in progress is not kept (a resumed run starts a
    fresh one, so it is not bit-identical). `learner=ppo` writes no checkpoints
    (`no_checkpoint_reason`)."""

    def __init__(self, cfg: PreferenceConfig, ctx: RunContext):
        from irlkit.algos.learners import check_budget, make_learner, resolve_learner

        self._cfg = cfg
        self._ctx = ctx
        if cfg.query not in QUERIES:
            raise IrlkitError(
                f"algo.query={cfg.query!r} is not a query method; choose one of {', '.join(QUERIES)} (B-Pref)"
            )
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
        self.absorbing = (
            AbsorbingStates(ctx.observation_space, ctx.action_space, gamma) if ctx.variable_horizon else None
        )
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
            # LearnerReward is called positionally: its parameter names differ from imitation's RewardFn protocol
            self.rl = make_ppo(cfg.ppo, RewardVecEnvWrapper(self.recorder, reward_fn=self.reward), seed=ctx.seed)  # type: ignore[arg-type]
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
            cast(Any, self.rl.replay_buffer).reward_fn = self.reward  # make_learner's RelabelingReplayBuffer
        self.rl.set_logger(ctx.logger)  # imitation's HierarchicalLogger is an SB3 Logger
        if cfg.pretrain_steps > 0:
            self.reward.entropy = StateEntropyBonus(
                self.states, k=cfg.entropy_k, rng=np.random.default_rng(ctx.seed + 1)
            )
            self.reward.mode = "entropy"

        model_space = self.absorbing.space if self.absorbing is not None else ctx.observation_space
        self._reward_net = make_reward_model(
            model_space,
            ctx.action_space,
            hid_sizes=cfg.reward_net_arch,
            use_action=reward_uses_action(cfg, ctx.action_space),
            members=cfg.ensemble_size,
        )
        self.reward_trainer = PreferenceRewardTrainer(
            self._reward_net,
            lr=cfg.reward_lr,
            batch_size=cfg.reward_batch_size,
            rng=ctx.rng,
            prepare=partial(model_space_fragment, absorbing=self.absorbing) if self.absorbing else None,
            random_label_share=cfg.random_label_share,
        )
        self.fragmenter = InformativeFragmenter(
            cfg.query, rng=ctx.rng, candidates=cfg.query_candidates, logger=ctx.logger
        )
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
        self.selector = make_selector(cfg, ctx, self.plan, budget=budget, learner=self.kind)
        self._curve = LabelCurve(ctx, cfg.label_curve_episodes, Path(ctx.run_dir) / "labels.csv")

    def learned_returns(
        self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, terminated: np.ndarray, horizon_left: np.ndarray
    ) -> np.ndarray:
        """The selector's score of env transitions under the current reward model."""
        return learned_returns(self._reward_net, self.absorbing, obs, acts, next_obs, terminated, horizon_left)

    @property
    def kept_policy(self) -> Any:
        """The policy the run would end with now: the selected one, else the learner's."""
        return self.selector.best_policy(self.rl.policy) if self.selector is not None else self.policy

    # -- one query -------------------------------------------------------------------------------
    def query(self) -> None:
        k = self.queries_done
        n_pairs = self.plan.pairs[k]
        self.maybe_select(self.num_timesteps)
        self._curve.measure(self, self.asked)
        trajectories = self.pool.refresh()
        length = self._cfg.fragment_length
        if self._cfg.query_episodes > 0:
            trajectories = recent_episodes(trajectories, self._cfg.query_episodes, length) or trajectories
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
        shown = [(env_space_fragment(a), env_space_fragment(b)) for a, b in pairs] if self.absorbing else pairs
        prefs = np.asarray(self.gatherer(shown), dtype=np.float32)
        self.dataset.push(pairs, prefs)
        self.asked += len(pairs)
        self.queries_done += 1
        log = self._ctx.logger
        log.record("preferences/asked", self.asked)
        log.record("preferences/trained_on", len(self.dataset))
        if not np.any(np.asarray(self.dataset.preferences) != 0.5):
            # Every answer so far was "skip" or "equally good": the labels rank nothing yet, and a
            # reward fitted to ties is noise that standardising would blow up to unit scale. The
            # learner keeps exploring (PEBBLE's pre-training reward) until a label prefers something.
            log.record("preferences/strict", 0)
            log.dump(self.num_timesteps)
            return
        visited = self.pool.sample_transitions(10_000, self._ctx.rng)
        if visited is not None and self.absorbing is not None:  # the env's own transitions, as the learner's replay
            real = np.asarray(visited[0])[:, -1] < 0.5
            visited = tuple(np.asarray(x)[real] for x in visited) if real.any() else visited
        if visited is not None:
            fit_input_norms(self._reward_net, visited)  # the scale of what the learner visits now
        epochs = self._cfg.reward_epochs * (self._cfg.initial_epoch_multiplier if self.reward_updates == 0 else 1.0)
        result = self.reward_trainer.train(self.dataset, epochs=int(math.ceil(epochs)))
        self.last_reward_accuracy = result.accuracy
        first_update = self.reward_updates == 0
        self.reward_updates += 1
        mean, std = self.reward.set_learned(self._reward_net, visited)
        if first_update and self._cfg.pretrain_steps > 0:
            _reset_critic(self.rl)  # PEBBLE: values of the exploration bonus would mislead the learner
        if self.selector is not None:
            self.selector.set_score(self.learned_returns)
        log.record("reward/loss", result.loss)
        log.record("reward/accuracy", result.accuracy)
        log.record("reward/epochs", result.epochs)
        log.record("reward/standardise_mean", mean)
        log.record("reward/standardise_std", std)
        log.dump(self.num_timesteps)

    @property
    def num_timesteps(self) -> int:
        return int(self.rl.num_timesteps)

    # -- Trainer ---------------------------------------------------------------------------------
    def planned_budget(self, budget: int) -> int:
        return budget  # spent exactly: the learner is stopped at the budget, PPO mid-rollout included

    @property
    def no_checkpoint_reason(self) -> Optional[str]:
        """Why `checkpoint()` returns None (printed by the run), or None when it writes checkpoints."""
        if self.kind == "ppo":
            return (
                "algo.learner=ppo is stopped mid-rollout at every env step, and its rollout buffer and the "
                "episodes of its env.n_envs envs are not resumable state; the off-policy learners resume"
            )
        return None

    def checkpoint(self) -> Optional[Checkpoint]:
        """Everything needed to continue between two env steps (`irlkit.algos.preference.resume`
        says what is kept and what is not); PPO: None, see `no_checkpoint_reason`."""
        if self.kind == "ppo":
            return None
        return preference_checkpoint(self)

    def restore(self, ckpt: Checkpoint) -> None:
        """Put `checkpoint()`'s state back into this freshly built trainer (same config)."""
        restore_preference(self, ckpt)

    def train(self, budget: int, progress: Progress) -> None:
        start = self.num_timesteps  # > 0 when resumed from a checkpoint
        end = start + int(budget)
        callback = _QueryCallback(self, end, progress, start=start)
        self.rl.learn(total_timesteps=int(budget), callback=callback, reset_num_timesteps=False)
        if min(self.num_timesteps, end) > callback.reported:
            progress(min(self.num_timesteps, end) - callback.reported)
            callback.reported = min(self.num_timesteps, end)
        while self.queries_done < len(self.plan.steps):  # only when learning stopped early
            self.query()
        self._steps = self.num_timesteps
        if self.selector is not None:
            if all(c["step"] != self.num_timesteps for c in self.selector.candidates):
                self.selector.consider(self.num_timesteps, self.rl.policy)  # the last policy is a candidate too
            self.selector.restore_best(self.rl.policy)
        self._curve.measure(self, self.asked)

    def maybe_select(self, step: int) -> None:
        if self.selector is not None and self.selector.due(step):
            self.selector.consider(step, self.rl.policy)

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

            save_learner(cast(Any, self.rl), run_dir / "policy.zip")  # sac or dqn: an OffPolicyAlgorithm
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
        if self.selector is not None:
            out.update(self.selector.summary())
        return out


class _QueryCallback(BaseCallback):
    """Runs the queries at their planned steps and stops the learner exactly at the budget."""

    def __init__(self, trainer: PreferenceTrainer, budget: int, progress: Progress, start: int = 0):
        super().__init__()
        self.trainer, self.budget, self.progress = trainer, budget, progress
        self.reported = start
        self.every = max(1, min(1000, (budget - start) // 100))  # progress (and checkpoints) in ~100 chunks

    def _on_training_start(self) -> None:
        self._maybe_query()

    def _on_step(self) -> bool:
        now = self.model.num_timesteps
        self.trainer._steps = now
        if now - self.reported >= self.every or now >= self.budget:
            self.progress(now - self.reported)  # before this step's query: a checkpoint here re-asks it on resume
            self.reported = now
        self.trainer.maybe_select(now)
        self._maybe_query()
        return now < self.budget

    def _maybe_query(self) -> None:
        t = self.trainer
        while t.queries_done < len(t.plan.steps) and self.model.num_timesteps >= t.plan.steps[t.queries_done]:
            t.query()


def _reset_critic(model: Any) -> None:
    """PEBBLE resets SAC's critics after unsupervised pre-training: Q-values of the exploration
    bonus would bias the first updates on the learned reward (the actor keeps its coverage). DQN's
    Q-network is its policy and its critic at once; it is reset the same way (its replay, full of
    the exploration's states, stays)."""
    from stable_baselines3 import DQN, SAC

    nets: Any
    targets: Any
    if isinstance(model, SAC):
        nets, targets = model.critic, model.critic_target
    elif isinstance(model, DQN):
        nets, targets = model.q_net, model.q_net_target
    else:
        return
    for module in nets.modules():
        if module is not nets and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    targets.load_state_dict(nets.state_dict())
    optimizer = model.critic.optimizer if isinstance(model, SAC) else model.policy.optimizer
    optimizer.state.clear()


def build(cfg: PreferenceConfig, ctx: RunContext) -> PreferenceTrainer:
    return PreferenceTrainer(cfg, ctx)
