"""Off-policy preference learning (PEBBLE): exact label and env-step budgets, the budget errors,
replay relabelling after a reward update, skipped pairs, and a small learning check.

Runs are real: seals envs, SB3 learners, the simulated teacher answering from the true reward."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from irlkit.algos.configs import DQNConfig, FeedbackConfig, PreferenceConfig
from irlkit.algos.preference import PreferenceTrainer, label_schedule, query_plan
from irlkit.envs import load_env_config
from irlkit.errors import IrlkitError
from irlkit.runconfig import RunConfig
from irlkit.train import run_training

FAST = [
    "algo=preference",
    "algo.pretrain_steps=0",
    "algo.dqn.learning_starts=100",
    "algo.fragment_length=10",
    "algo.label_curve_episodes=1",
    "eval.episodes=2",
    "eval.curve_points=0",
    "progress=false",
]


def small_cfg(**kw) -> PreferenceConfig:
    base = dict(
        budget=600,
        pretrain_steps=0,
        fragment_length=10,
        label_curve_episodes=1,
        reward_epochs=5,
        dqn=DQNConfig(learning_starts=100),
    )
    base.update(kw)
    return PreferenceConfig(**base)


def train(
    tmp_path: Path, cfg: PreferenceConfig, env: str = "cartpole", feedback: FeedbackConfig | None = None, seed: int = 0
) -> dict:
    from irlkit.evaluate import EvalConfig

    config = RunConfig(
        algo=cfg,
        env=load_env_config(env),
        seed=seed,
        eval=EvalConfig(episodes=2, curve_points=0),
        feedback=feedback or FeedbackConfig(),
        progress=False,
    )
    return run_training(config, tmp_path / "run")


@pytest.mark.parametrize("total", [1, 2, 7, 8, 13, 100, 5000])
@pytest.mark.parametrize("iterations", [0, 1, 10])
def test_label_schedule_asks_exactly_total_comparisons(total: int, iterations: int):
    for frac in (0.0, 0.1, 0.5, 1.0):
        cfg = PreferenceConfig(total_comparisons=total, num_iterations=iterations, initial_comparison_frac=frac)
        pairs = label_schedule(cfg)
        assert sum(pairs) == total and min(pairs) >= 1 and len(pairs) <= iterations + 1


def test_queries_are_evenly_spaced_multiples_of_the_learner_step():
    cfg = PreferenceConfig(
        total_comparisons=100, num_iterations=4, pretrain_steps=1000, fragment_length=50, query_span=1.0
    )
    plan = query_plan(cfg, budget=11_000, n_envs=1, unit=1)
    assert plan.steps == [1000, 3000, 5000, 7000, 9000] and sum(plan.pairs) == 100
    half = query_plan(dataclasses.replace(cfg, query_span=0.5), budget=11_000, n_envs=1, unit=1)
    assert half.steps == [1000, 2000, 3000, 4000, 5000]  # the second half of the budget learns the last reward
    with pytest.raises(IrlkitError, match="query_span"):
        query_plan(dataclasses.replace(cfg, query_span=0.0), budget=11_000, n_envs=1, unit=1)
    ppo = query_plan(cfg, budget=16 * 1024, n_envs=8, unit=1024)  # PPO: 128 steps x 8 envs per rollout
    assert all(s % 1024 == 0 for s in ppo.steps) and ppo.first == 1024


@pytest.mark.slow
@pytest.mark.parametrize("total", [1, 8])
def test_small_label_budgets_run_and_are_honoured_exactly(tmp_path: Path, total: int):
    """`algo.total_comparisons=8` used to crash inside imitation ("No trajectories are long enough")."""
    out = train(tmp_path, small_cfg(total_comparisons=total))
    assert out["comparisons_asked"] == total and out["comparisons_trained_on"] <= total
    assert out["env_steps"] == 600  # exactly the budget
    rows = list(csv.DictReader(open(tmp_path / "run" / "labels.csv")))
    assert [int(r["labels_asked"]) for r in rows][-1] == total
    assert int(rows[-1]["env_steps"]) == 600


@pytest.mark.slow
def test_a_large_label_budget_on_a_small_step_budget_is_honoured(tmp_path: Path):
    out = train(tmp_path, small_cfg(total_comparisons=400, num_iterations=3))
    assert out["comparisons_asked"] == 400 and out["queries"] == 4 and out["env_steps"] == 600


@pytest.mark.slow
def test_the_command_line_spends_the_env_step_budget_exactly(tmp_path: Path):
    run_dir = tmp_path / "cli"
    proc = run_cli(["-m", "irlkit", *FAST, "algo.budget=1000", "algo.total_comparisons=8", f"hydra.run.dir={run_dir}"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["env_steps"] == 1000 and result["comparisons_asked"] == 8 and result["learner"] == "dqn"
    assert (run_dir / "labels.csv").exists() and (run_dir / "reward_net.pt").exists()


@pytest.mark.slow
def test_too_small_an_env_step_budget_is_refused_before_training_naming_the_minimum(tmp_path: Path):
    proc = run_cli(
        [
            "-m",
            "irlkit",
            *FAST,
            "algo.budget=150",
            "algo.pretrain_steps=400",
            "algo.dqn.learning_starts=10",
            f"hydra.run.dir={tmp_path / 'x'}",
        ]
    )
    assert proc.returncode == 2
    assert "must be at least 401" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x" / "eval.json").exists()
    with pytest.raises(IrlkitError, match="at least one pair"):
        label_schedule(PreferenceConfig(total_comparisons=0))


def test_ppo_learner_spends_whole_rollouts_and_the_exact_budget(tmp_path: Path):
    from irlkit.algos.configs import PPOConfig

    cfg = small_cfg(learner="ppo", budget=8 * 64 * 3, total_comparisons=6, num_iterations=1, ppo=PPOConfig(n_steps=64))
    out = train(tmp_path, cfg)
    assert out["env_steps"] == 8 * 64 * 3 and out["comparisons_asked"] == 6 and out["learner"] == "ppo"
    with pytest.raises(IrlkitError, match="multiple of env.n_envs=8"):
        train(tmp_path / "b", small_cfg(learner="ppo", budget=8 * 64 * 3 + 1, ppo=PPOConfig(n_steps=64)))


def test_replay_rewards_are_relabelled_after_each_reward_update(tmp_path: Path):
    """The same replay rows give the current reward model's (standardised) rewards, before and
    after an update, and never the env's."""
    import torch as th
    from imitation.util import logger as imit_logger

    from irlkit.algos.base import RunContext
    from irlkit.envs import make_venv

    env_cfg = load_env_config("cartpole")
    venv = make_venv(env_cfg, seed=0)
    ctx = RunContext(
        env_cfg=env_cfg,
        venv=venv,
        demos=None,
        rng=np.random.default_rng(0),
        seed=0,
        logger=imit_logger.configure(str(tmp_path / "logs"), ["csv"]),
        run_dir=tmp_path,
        feedback=FeedbackConfig(),
    )
    cfg = small_cfg(budget=2000, total_comparisons=40, num_iterations=1, label_curve_episodes=0)
    trainer = PreferenceTrainer(cfg, ctx)
    trainer.rl.learn(total_timesteps=300, reset_num_timesteps=False)  # 100 steps of zero reward, the first query at 20
    assert trainer.reward_updates == 0  # the callback is not installed: no query ran
    trainer.query()
    buffer = trainer.rl.replay_buffer
    rows = buffer.valid_rows()[:64]
    batch = buffer.transitions_at(rows)
    before = buffer.samples_at(rows).rewards.numpy().reshape(-1)
    expected = trainer.reward(*batch)
    np.testing.assert_allclose(before, expected, rtol=1e-5, atol=1e-5)
    stored = buffer.rewards[rows, 0]
    assert not np.allclose(before, stored)  # the env's rewards never reach the learner
    with th.no_grad():  # a reward update: the model changes, and so does every replay reward
        for p in trainer.reward_net.parameters():
            p.add_(0.5 * th.randn_like(p))
    trainer.query()
    after = buffer.samples_at(rows).rewards.numpy().reshape(-1)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, trainer.reward(*batch), rtol=1e-5, atol=1e-5)
    venv.close()


def test_skipped_pairs_are_asked_but_never_trained_on(tmp_path: Path):
    out = train(
        tmp_path, small_cfg(total_comparisons=60, num_iterations=2), feedback=FeedbackConfig(teacher="skip", skip=0.5)
    )
    assert out["comparisons_asked"] == 60
    assert out["comparisons_trained_on"] < 60  # a random CartPole policy's fragments are mostly all bad
    assert out["teacher"]["skip"] == 0.5


@pytest.mark.slow
def test_bad_options_are_one_paragraph(tmp_path: Path):
    proc = run_cli(["-m", "irlkit", *FAST, "algo.query=variance", f"hydra.run.dir={tmp_path / 'q'}"])
    assert proc.returncode == 2 and "algo.query='variance' is not a query method" in proc.stderr
    proc = run_cli(
        ["-m", "irlkit", *FAST, "algo.query=disagreement", "algo.ensemble_size=1", f"hydra.run.dir={tmp_path / 'e'}"]
    )
    assert proc.returncode == 2 and "needs algo.ensemble_size >= 2" in proc.stderr
    proc = run_cli(["-m", "irlkit", *FAST, "algo.learner=dqn", "env=pendulum", f"hydra.run.dir={tmp_path / 'd'}"])
    assert proc.returncode == 2 and "algo.learner=dqn needs Discrete actions" in proc.stderr
    proc = run_cli(["-m", "irlkit", *FAST, "feedback.teacher=grumpy", f"hydra.run.dir={tmp_path / 't'}"])
    assert proc.returncode == 2 and "not a simulated teacher" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli(["-m", "irlkit", *FAST, "algo.random_label_share=1.0", f"hydra.run.dir={tmp_path / 'n'}"])
    assert proc.returncode == 2 and "algo.random_label_share=1.0 must lie in [0, 1)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_random_label_share_bounds_what_a_wrong_label_costs():
    """Without label noise the loss is Bradley-Terry's cross-entropy; with it, a label against a
    large return difference costs at most -log(e/2), while agreeing labels still cost about
    -log(1 - e/2), so the gradient of one wrong label vanishes instead of growing."""
    import torch as th
    import torch.nn.functional as F

    from irlkit.algos.preference.rewards import preference_loss

    logits = th.tensor([-40.0, -3.0, 0.0, 3.0, 40.0])
    prefs = th.tensor([1.0, 1.0, 0.5, 0.0, 0.0])  # the first two and last two labels contradict the logits
    assert th.allclose(preference_loss(logits, prefs), F.binary_cross_entropy_with_logits(logits, prefs))
    e = 0.1
    p = e / 2 + (1 - e) * th.sigmoid(logits)
    expected = -(prefs * th.log(p) + (1 - prefs) * th.log(1 - p)).mean()
    assert th.allclose(preference_loss(logits, prefs, e), expected, atol=1e-6)
    wrong = th.tensor([-40.0], requires_grad=True)
    preference_loss(wrong, th.tensor([1.0]), e).backward()
    assert float(preference_loss(wrong.detach(), th.tensor([1.0]), e)) <= -np.log(e / 2) + 1e-6
    assert abs(float(wrong.grad)) < 1e-6  # saturated: one wrong label no longer pulls the reward
    right = preference_loss(th.tensor([40.0]), th.tensor([1.0]), e)
    assert abs(float(right) + np.log(1 - e / 2)) < 1e-6


def test_reward_inputs_are_scaled_by_the_bulk_of_the_visited_states_not_the_far_ones():
    """State-entropy exploration pushes seals CartPole's cart to |x| in the hundreds; the reward
    model's input scale comes from where most visited states lie, so the track's edge at
    |x| = 2.4 stands apart from its centre, and the far states are squashed, not clipped."""
    import torch as th

    from irlkit.algos.preference.rewards import FittedNorm

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.0, 1.0, 9000), rng.uniform(-300, 300, 1000)])  # a tenth far away
    norm = FittedNorm(1)
    norm.fit(th.as_tensor(x[:, None], dtype=th.float32))
    scaled = norm(th.tensor([[0.0], [2.4], [25.0], [260.0]])).reshape(-1).numpy()
    assert abs(scaled[0]) < 0.1 and scaled[1] > 1.0  # the edge stands apart from the centre
    assert scaled[1] < scaled[2] < scaled[3] < 7.0  # far states keep their order, squashed
    norm.train()
    norm(th.full((5, 1), 1000.0))  # training passes leave the fitted scale alone
    assert norm(th.tensor([[2.4]])).item() == pytest.approx(scaled[1])


def test_queries_draw_from_the_recent_episodes_and_the_recent_ended_ones():
    from imitation.data.types import TrajectoryWithRew

    from irlkit.algos.preference.fragments import recent_episodes

    def episode(n: int, terminal: bool) -> TrajectoryWithRew:
        return TrajectoryWithRew(
            obs=np.zeros((n + 1, 1)), acts=np.zeros(n), infos=None, terminal=terminal, rews=np.zeros(n)
        )

    eps = [episode(30, True), episode(30, False), episode(5, False), *[episode(30, False) for _ in range(4)]]
    kept = recent_episodes(eps, 2, 10)
    index = {id(t): i for i, t in enumerate(eps)}
    assert [index[id(t)] for t in kept] == [0, 5, 6]  # the last two long enough, and the last one that ended


@pytest.mark.parametrize(
    "env, next_state, padded", [("cartpole", True, False), ("mountain_car_continuous", False, True)]
)
def test_a_saved_reward_model_loads_whatever_inputs_it_was_trained_on(env: str, next_state: bool, padded: bool):
    """The input width tells the loader about the absorbing indicator and the next state, so runs
    saved before `reward_use_next_state` existed re-evaluate as they were trained."""
    from irlkit.algos.preference.rewards import EnvSpaceReward, make_reward_model
    from irlkit.algos.preference.saved import load_reward, reward_uses_action
    from irlkit.algos.relabel import AbsorbingStates
    from irlkit.envs.make import make_env

    cfg = PreferenceConfig()
    made = make_env(load_env_config(env))
    absorbing = AbsorbingStates(made.observation_space, made.action_space, 0.99) if padded else None
    net = make_reward_model(
        absorbing.space if absorbing else made.observation_space,
        made.action_space,
        hid_sizes=cfg.reward_net_arch,
        use_action=reward_uses_action(cfg, made.action_space),
        use_next_state=next_state,
        members=3,
    )
    loaded = load_reward(cfg, made.observation_space, made.action_space, net.state_dict())
    assert isinstance(loaded, EnvSpaceReward) == padded
    model = loaded.model if padded else loaded
    assert all(m.use_next_state == next_state for m in model.members)
    obs = np.stack([made.observation_space.sample() for _ in range(4)])
    acts = np.stack([made.action_space.sample() for _ in range(4)])
    if padded:
        expected = net.predict(absorbing.pad(obs), acts, absorbing.pad(obs), np.zeros(4))
        np.testing.assert_allclose(loaded(obs, acts, obs, np.zeros(4)), expected, rtol=1e-5)
    else:
        np.testing.assert_allclose(
            loaded.predict(obs, acts, obs, np.zeros(4)), net.predict(obs, acts, obs, np.zeros(4))
        )


@pytest.mark.slow
def test_pendulum_is_learned_from_100_labels_in_8000_env_steps(tmp_path: Path):
    """A learning check at a small budget: from a hundred oracle labels, SAC on the learned reward
    swings Pendulum up (seeds 0-2 scored 0.985 / 0.985 / 1.004 normalized; a random policy 0)."""
    from irlkit.evaluate import EvalConfig

    cfg = PreferenceConfig(
        budget=8000, pretrain_steps=1000, total_comparisons=100, num_iterations=4, label_curve_episodes=0
    )
    config = RunConfig(
        algo=cfg, env=load_env_config("pendulum"), seed=0, eval=EvalConfig(episodes=5, curve_points=0), progress=False
    )
    out = run_training(config, tmp_path / "run")
    assert out["comparisons_asked"] == 100 and out["env_steps"] == 8000
    assert out["normalized_score"] >= 0.8, out["normalized_score"]
