"""Preference learning keeps the policy the *current* learned reward rates highest, and keeps
exploring while every label so far is a tie (no label ranks anything yet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th
from test_preference import small_cfg, train

from irlkit.algos.configs import FeedbackConfig, PolicySelectionConfig
from irlkit.algos.selection import LearnedReturnSelector
from irlkit.envs import EnvConfig, load_env_config


class _Push:
    """A fixed-action policy with weights of its own, as the selector handles SB3 policies."""

    def __init__(self, action: int):
        self.weights = {"action": th.tensor([float(action)])}

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return np.full(len(obs), int(self.weights["action"].item())), state

    def state_dict(self):
        return {k: v.clone() for k, v in self.weights.items()}

    def load_state_dict(self, state):
        self.weights = {k: v.clone() for k, v in state.items()}


def _cart_x(obs, acts, next_obs, terminated, horizon_left):
    return np.asarray(next_obs)[:, 0]


def test_the_kept_policy_follows_every_reward_update() -> None:
    cfg = PolicySelectionConfig(episodes=2, max_steps_share=None)
    selector = LearnedReturnSelector(cfg, load_env_config("cartpole"), 0, steps=[10, 20, 30])
    assert selector.horizon == 500  # seals CartPole's time limit
    assert selector.due(10) and not selector.due(15)
    for step, action in ((10, 0), (20, 1), (30, 0)):
        selector.consider(step, _Push(action))
    assert selector.best_step == 30 and selector.scores == []  # no learned reward yet: the newest stands
    selector.set_score(_cart_x)  # the cart further right is better: the policy that pushes right
    assert selector.best_step == 20
    selector.set_score(lambda *a: -_cart_x(*a))  # the next update says left: the kept policy follows
    assert selector.best_step in (10, 30)
    kept = _Push(1)
    selector.restore_best(kept)
    assert kept.weights["action"].item() == 0.0
    assert selector.env_steps == 3 * 2 * 500 and not selector.due(20)  # a point is played once
    assert [s for s, _ in selector.summary()["selection_history"]] == [10, 20, 30]


def test_a_terminated_episode_is_scored_to_the_horizon_in_the_absorbing_state() -> None:
    """gymnasium's CartPole-v1 ends when the pole falls: the absorbing state fills the episode up
    to the time limit, so ending early is worth what the learned reward says absorbing is worth."""
    seen = {}

    def absorbing_pays_one(obs, acts, next_obs, terminated, horizon_left):
        seen["terminated"], seen["left"] = np.asarray(terminated), np.asarray(horizon_left)
        return np.asarray(terminated) * np.asarray(horizon_left) * 1.0

    cfg = PolicySelectionConfig(episodes=1, max_steps_share=None)
    selector = LearnedReturnSelector(cfg, EnvConfig(name="gym", id="CartPole-v1"), 0, steps=[1])
    selector.consider(1, _Push(0))
    selector.set_score(absorbing_pays_one)
    length = len(seen["terminated"])
    assert seen["terminated"][-1] and not seen["terminated"][:-1].any() and length < 50
    assert seen["left"][-1] == 500 - length and selector.scores == [500 - length]


def test_selection_state_survives_a_checkpoint_round_trip() -> None:
    cfg = PolicySelectionConfig(episodes=1, max_steps_share=None)
    env_cfg = load_env_config("cartpole")
    selector = LearnedReturnSelector(cfg, env_cfg, 0, steps=[1, 2])
    selector.consider(1, _Push(0))
    selector.consider(2, _Push(1))
    tensors, meta = selector.state()
    again = LearnedReturnSelector(cfg, env_cfg, 0, steps=[1, 2])
    again.load_state(tensors, meta)
    again.set_score(_cart_x)
    selector.set_score(_cart_x)
    assert again.best_step == selector.best_step == 2 and again.scores == selector.scores
    assert again.env_steps == selector.env_steps


def test_a_run_ends_with_the_policy_its_final_reward_rates_highest(tmp_path: Path) -> None:
    out = train(tmp_path, small_cfg(budget=1000, total_comparisons=30, num_iterations=2))
    history = out["selection_history"]
    assert history and history[-1][0] == 1000  # the last policy is a candidate
    best_step, best = max(history, key=lambda sd: sd[1])
    assert out["selected_step"] == best_step and out["selected_learned_return"] == pytest.approx(best, abs=1e-5)
    assert out["selection_env_steps"] > 0 and out["env_steps"] == 1000


def test_while_every_label_is_a_tie_the_learner_keeps_exploring(tmp_path: Path) -> None:
    """seals MountainCar pays -1 on every step until the flag: a random learner's fragments all
    tie, so no label ranks anything and the reward stays the exploration bonus."""
    out = train(
        tmp_path,
        small_cfg(budget=900, pretrain_steps=200, total_comparisons=20, num_iterations=2),
        env="mountain_car",
        feedback=FeedbackConfig(teacher="oracle"),
    )
    assert out["comparisons_asked"] == 20 and out["comparisons_trained_on"] == 20
    assert out["reward_updates"] == 0 and out["reward_train_accuracy"] is None
