"""`algo.select_policy`: the run's policy is the one whose own episodes look most like the demos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th

from conftest import REPO, run_config
from irlkit.algos.configs import PolicySelectionConfig
from irlkit.algos.selection import DemoMatchSelector, demo_states, energy_distance
from irlkit.envs import load_env_config
from irlkit.evaluate import eval_seeds
from irlkit.store import Dataset
from irlkit.train import resume_training, run_training

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_energy_distance_is_zero_for_one_sample_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    shifts = [energy_distance(x, rng.normal(size=(500, 3)) + [s, 0.0, 0.0]) for s in (0.0, 0.5, 2.0)]
    assert shifts[0] < 0.05 < shifts[1] < shifts[2]


def test_selection_episodes_never_use_the_evaluators_seeds() -> None:
    demo_obs = np.zeros((4, 2))
    evaluated = {s for seed in range(1000) for s in eval_seeds(seed, 100)}
    for seed in (0, 1, 999):
        selector = DemoMatchSelector(
            PolicySelectionConfig(episodes=100, max_steps_share=None),
            None,
            demo_obs,
            seed,
            budget=10,
            points=1,
            demo_steps=np.arange(4),
        )
        assert not evaluated & set(selector._seeds)


def test_the_expert_is_closer_to_its_demos_than_a_random_policy() -> None:
    from irlkit.experts.cache import load_expert, shipped_expert_path

    env_cfg = load_env_config("cartpole")
    demos = Dataset.open(REPO / "demos" / "cartpole_expert")
    demo_obs, demo_steps = demo_states(demos)
    selector = DemoMatchSelector(
        PolicySelectionConfig(points=1, episodes=2, max_steps_share=None),
        env_cfg,
        demo_obs,
        seed=0,
        budget=1,
        points=1,
        demo_steps=demo_steps,
    )
    expert = load_expert(shipped_expert_path("cartpole"), env_cfg).policy
    assert selector.distance(expert) < 0.2 * selector.distance(None)  # None: uniformly random actions


def _tiny_sqil(extra: list[str]) -> list[str]:
    return [
        "algo=sqil",
        "algo.budget=1500",
        "algo.dqn.learning_starts=300",
        "algo.dqn.net_arch=[16]",
        "algo.select_policy.points=3",
        "algo.select_policy.episodes=1",
        "eval.episodes=2",
        "eval.curve_points=0",
        "progress=false",
        *extra,
    ]


@pytest.mark.slow
def test_the_run_ends_with_the_closest_policy_it_saw(tmp_path: Path) -> None:
    from irlkit.policies import load_policy

    trainers = []
    result = run_training(
        run_config(_tiny_sqil(["algo.select_policy.keep_candidates=true"])), tmp_path, on_trainer=trainers.append
    )
    history = result["selection_history"]
    assert [step for step, _ in history] == [500, 1000, 1500]
    best_step, best = min(history, key=lambda sd: sd[1])
    assert result["selected_step"] == best_step
    assert result["selected_distance"] == pytest.approx(best, abs=1e-5)
    assert result["selection_env_steps"] >= 3  # an episode per point, outside the budget
    assert result["env_steps"] == 1500
    selector = trainers[0].selector
    final = trainers[0].rl.policy.state_dict()
    assert all(th.equal(final[k], v) for k, v in selector.best_state.items())
    kept = load_policy(tmp_path / "selection" / f"step-{best_step}")  # every candidate, saved as asked
    assert all(th.equal(kept.state_dict()[k], v) for k, v in selector.best_state.items())
    assert sorted(p.name for p in (tmp_path / "selection").iterdir()) == ["step-1000", "step-1500", "step-500"]


@pytest.mark.slow
def test_a_stopped_run_keeps_its_selection_when_resumed(tmp_path: Path) -> None:
    from test_resume import Stop, _stop_after

    with pytest.raises(Stop):
        run_training(run_config(_tiny_sqil(["checkpoint_s=0"])), tmp_path, on_trainer=_stop_after(1100))
    result = resume_training(tmp_path)
    assert [step for step, _ in result["selection_history"]] == [500, 1000, 1500]  # none lost, none twice
    assert result["budget_spent"] == 1500


def test_run_episodes_cuts_every_episode_at_max_steps() -> None:
    from irlkit.envs.episodes import run_episodes
    from irlkit.experts.cache import load_expert, shipped_expert_path

    env_cfg = load_env_config("cartpole")
    expert = load_expert(shipped_expert_path("cartpole"), env_cfg).policy  # balances for 500 steps
    whole = run_episodes(env_cfg, expert, [11, 12])
    cut = run_episodes(env_cfg, expert, [11, 12], max_steps=40)
    assert len(whole.obs) == 1000 and len(cut.obs) == 80
    assert np.flatnonzero(cut.dones).tolist() == [39, 79]  # each cut episode ends on its 40th step
    assert np.array_equal(cut.obs[:40], whole.obs[:40])  # the same episode, only shorter


def test_selection_episodes_stay_within_their_share_of_the_budget() -> None:
    from irlkit.algos.selection import episode_step_cap, make_selector, selection_rounds
    from irlkit.errors import IrlkitError
    from irlkit.experts.cache import load_expert, shipped_expert_path

    env_cfg = load_env_config("cartpole")
    expert = load_expert(shipped_expert_path("cartpole"), env_cfg).policy
    demo_obs = np.zeros((10, 4))
    budget, points = 700, 3  # scored at 233, 466, 699 and 700: 4 rounds
    assert selection_rounds(budget, points) == 4
    assert episode_step_cap(budget, points, 2, 1.0) == 87
    for share, most in ((1.0, 700), (0.5, 350), (None, 4 * 2 * 500)):
        cfg = PolicySelectionConfig(points=points, episodes=2, max_steps_share=share)
        selector = make_selector(cfg, env_cfg, demo_obs, 0, budget=budget, algo="sqil", demo_steps=np.arange(10))
        assert selector is not None
        for step in range(1, budget + 1):
            if selector.due(step):
                selector.consider(step, expert)
        assert len(selector.history) == 4
        # the expert never falls, so every episode runs to the cap (or to CartPole's 500 uncapped)
        assert most - 4 * 2 < selector.env_steps <= most
        assert selector.summary()["selection_episode_steps_cap"] == (None if share is None else most // 8)
    for share in (0.0, 0.001):
        with pytest.raises(IrlkitError, match="max_steps_share"):
            make_selector(
                PolicySelectionConfig(points=3, max_steps_share=share),
                env_cfg,
                demo_obs,
                0,
                budget=700,
                algo="sqil",
                demo_steps=np.arange(10),
            )


def test_steps_in_episode_restart_after_every_episode_end() -> None:
    from irlkit.algos.selection import steps_in_episode

    assert steps_in_episode(np.array([0, 0, 1, 0, 1, 0, 0], dtype=bool)).tolist() == [0, 1, 2, 0, 1, 0, 1]
    demos = Dataset.open(REPO / "demos" / "cartpole_expert")
    obs, steps = demo_states(demos)
    lengths = [len(ep.acts) for ep in demos.episodes()]
    assert steps.tolist() == [t for n in lengths for t in range(n)]  # truncated episodes end too
    assert np.array_equal(obs, np.concatenate([ep.obs[:-1] for ep in demos.episodes()]))


def test_cut_selection_episodes_are_compared_with_the_demos_same_stretch() -> None:
    # the demos sit at 0 for 5 steps, then at 10; selection episodes cut at 5 steps see only the 0s
    demo_obs = np.array([[0.0] * 5 + [10.0] * 5] * 3).reshape(-1, 1)
    demo_steps = np.tile(np.arange(10), 3)
    cfg = PolicySelectionConfig(
        points=1, episodes=1, max_steps_share=0.5, with_time=False
    )  # 10-step budget, 1 round: cap 5
    cut = DemoMatchSelector(cfg, None, demo_obs, 0, budget=10, points=1, demo_steps=demo_steps)
    assert cut.step_cap == 5 and cut._demo.shape == (15, 1) and np.all(cut._demo == cut._demo[0])
    whole = DemoMatchSelector(
        PolicySelectionConfig(points=1, episodes=1, max_steps_share=None, with_time=False),
        None,
        demo_obs,
        0,
        budget=10,
        points=1,
        demo_steps=demo_steps,
    )
    assert whole._demo.shape == (30, 1)


def test_with_time_the_order_of_the_states_counts() -> None:
    # demos: 0 for 5 steps then 1; "backwards": the same states, 1 first; pooled states cannot tell
    demo_obs = np.array([[0.0] * 5 + [1.0] * 5] * 4).reshape(-1, 1)
    demo_steps = np.tile(np.arange(10), 4)
    backwards = 1.0 - demo_obs
    distances = {}
    for with_time in (False, True):
        cfg = PolicySelectionConfig(points=1, episodes=1, max_steps_share=None, with_time=with_time)
        sel = DemoMatchSelector(cfg, None, demo_obs, 0, budget=10, points=1, demo_steps=demo_steps)
        assert energy_distance(sel._standardize(demo_obs, demo_steps), sel._demo) == pytest.approx(0.0, abs=1e-9)
        distances[with_time] = energy_distance(sel._standardize(backwards, demo_steps), sel._demo)
    assert distances[False] == pytest.approx(0.0, abs=1e-9) and distances[True] > 0.5
    with pytest.raises(ValueError, match="steps within their episodes"):
        DemoMatchSelector(PolicySelectionConfig(), None, demo_obs, 0, budget=10, points=1, demo_steps=np.arange(3))
