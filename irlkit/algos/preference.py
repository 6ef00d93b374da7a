"""Preference comparisons (Christiano et al. 2017): a reward model learns from which of two
fragments an annotator prefers; PPO learns from the reward model.

The annotator is pluggable through imitation's own seam, a `PreferenceGatherer`: the synthetic
one here (for benchmarks), or one built above the algorithms and handed down in `RunContext.human`
(a person in the browser or a saved preference dataset, `irlkit.feedback`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from imitation.algorithms import preference_comparisons as pc
from imitation.data.types import TrajectoryWithRewPair
from imitation.rewards.reward_nets import BasicRewardNet
from imitation.util import networks

from irlkit.algos.base import Progress, RLTrainer, RunContext, make_ppo
from irlkit.algos.configs import FeedbackConfig, PreferenceConfig


class ScaledSyntheticGatherer(pc.SyntheticGatherer):
    """imitation's synthetic annotator with a temperature in units of the return spread.

    A fixed temperature of 1 is near-noiseless on CartPole (returns in the hundreds) and pure noise
    on an env with rewards of 0.01; scaling by the spread of the first batch fixes that."""

    def __init__(self, noise: float, rng: np.random.Generator, logger: Any = None):
        super().__init__(temperature=0.0, rng=rng, custom_logger=logger, sample=True)
        self.noise = noise
        self._scaled = noise == 0

    def __call__(self, fragment_pairs: Sequence[TrajectoryWithRewPair]) -> np.ndarray:
        if not self._scaled:
            r1, r2 = self._reward_sums(fragment_pairs)
            spread = float(np.ptp(np.concatenate([r1, r2])))
            self.temperature = self.noise * spread if spread > 0 else self.noise
            self._scaled = True
            self.logger.record("preferences/temperature", self.temperature)
        return super().__call__(fragment_pairs)


def _gatherer(cfg: PreferenceConfig, ctx: RunContext) -> pc.PreferenceGatherer:
    """The annotator: the human side handed down by the run (`feedback=human|dataset`), else the
    synthetic one answering from the env's reward (`feedback=synthetic`)."""
    if ctx.human is not None:
        return ctx.human
    feedback = ctx.feedback if isinstance(ctx.feedback, FeedbackConfig) else FeedbackConfig()
    return ScaledSyntheticGatherer(feedback.noise, ctx.rng, ctx.logger)


def make_reward_net(cfg: PreferenceConfig, observation_space: Any, action_space: Any) -> BasicRewardNet:
    return BasicRewardNet(
        observation_space,
        action_space,
        hid_sizes=tuple(cfg.reward_net_arch),
        normalize_input_layer=networks.RunningNorm,
        use_action=cfg.reward_use_action,
    )


def load_reward(cfg: PreferenceConfig, observation_space: Any, action_space: Any, state: dict) -> BasicRewardNet:
    net = make_reward_net(cfg, observation_space, action_space)
    net.load_state_dict(state)
    return net


class PreferenceTrainer(RLTrainer):
    def __init__(self, cfg: PreferenceConfig, ctx: RunContext):
        self._cfg = cfg
        self._reward_net = make_reward_net(cfg, ctx.observation_space, ctx.action_space)
        self.rl = make_ppo(cfg.ppo, ctx.venv, seed=ctx.seed)
        generator = pc.AgentTrainer(
            algorithm=self.rl,
            reward_fn=self._reward_net,
            venv=ctx.venv,
            exploration_frac=cfg.exploration_frac,
            rng=ctx.rng,
            custom_logger=ctx.logger,
        )
        self.gatherer = _gatherer(cfg, ctx)
        self._pc = pc.PreferenceComparisons(
            generator,
            self._reward_net,
            num_iterations=cfg.num_iterations,
            fragmenter=pc.RandomFragmenter(rng=ctx.rng, warning_threshold=0, custom_logger=ctx.logger),
            preference_gatherer=self.gatherer,
            reward_trainer=pc.BasicRewardTrainer(
                preference_model=pc.PreferenceModel(self._reward_net),
                loss=pc.CrossEntropyRewardLoss(),
                epochs=cfg.reward_epochs,
                lr=cfg.reward_lr,
                rng=ctx.rng,
                custom_logger=ctx.logger,
            ),
            fragment_length=cfg.fragment_length,
            transition_oversampling=cfg.transition_oversampling,
            initial_comparison_frac=cfg.initial_comparison_frac,
            initial_epoch_multiplier=cfg.initial_epoch_multiplier,
            custom_logger=ctx.logger,
            allow_variable_horizon=ctx.variable_horizon,
            query_schedule=cfg.query_schedule,
        )
        attach = getattr(self.gatherer, "attach", None)
        if callable(attach):  # annotators that may skip pairs (irlkit.feedback) install their own dataset
            attach(self._pc)
        self._steps = 0

    def train(self, budget: int, progress: Progress) -> None:
        # imitation samples at least one PPO rollout per iteration, whatever the budget says, so the
        # progress and the reported env steps come from the learner's own step counter.
        def on_iteration(_: int) -> None:
            now = self.rl.num_timesteps
            progress(now - self._steps)
            self._steps = now

        self._pc.train(total_timesteps=budget, total_comparisons=self._cfg.total_comparisons, callback=on_iteration)

    @property
    def reward_net(self):
        return self._reward_net


def build(cfg: PreferenceConfig, ctx: RunContext) -> PreferenceTrainer:
    return PreferenceTrainer(cfg, ctx)
