"""`python -m irlkit.transfer run=DIR`: a fresh learner trained on a finished run's frozen reward."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli

TINY_AIRL = [
    "algo=airl",
    "env=pendulum",
    "algo.budget=600",
    "algo.sac.learning_starts=200",
    "algo.sac.net_arch=[16]",
    "algo.demo_batch_size=64",
    "eval.episodes=2",
    "eval.curve_points=0",
    "progress=false",
]

TINY_PREFERENCE = [
    "algo=preference",
    "algo.budget=1200",
    "algo.pretrain_steps=0",
    "algo.dqn.learning_starts=200",
    "algo.dqn.net_arch=[16]",
    "algo.total_comparisons=10",
    "algo.num_iterations=1",
    "algo.fragment_length=20",
    "algo.label_curve_episodes=0",
    "algo.select_policy.points=0",
    "eval.episodes=2",
    "eval.curve_points=0",
    "progress=false",
]


@pytest.mark.slow
def test_transfer_trains_a_fresh_learner_on_the_frozen_reward_and_scores_it(tmp_path: Path) -> None:
    run = tmp_path / "airl"
    proc = run_cli(["-m", "irlkit", *TINY_AIRL, f"hydra.run.dir={run}"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_cli(["-m", "irlkit.transfer", f"run={run}", "budget=500", "progress=false"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((run / "transfer" / "transfer.json").read_text())
    assert result["source_algo"] == "airl" and result["learner"] == "SAC"
    assert result["env_steps"] == 500 and result["budget"] == 500
    assert result["demo_return"] == json.loads((run / "eval.json").read_text())["demo_return"]
    assert isinstance(result["normalized_score"], float)
    meta = json.loads((run / "transfer" / "policy.json").read_text())
    assert meta["sb3_class"] == "SAC" and "observation_space" in meta


@pytest.mark.slow
def test_transfer_mistakes_are_one_paragraph(tmp_path: Path) -> None:
    bc = tmp_path / "bc"
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=bc",
            "algo.budget=50",
            "eval.episodes=1",
            "eval.curve_points=0",
            "progress=false",
            f"hydra.run.dir={bc}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for args, expected in (
        ([f"run={bc}"], "has no learned reward to transfer"),
        ([f"run={tmp_path / 'nowhere'}"], "is not a finished irlkit run"),
        ([f"run={bc}", "budgt=5"], "budgt"),
    ):
        proc = run_cli(["-m", "irlkit.transfer", *args, "progress=false"])
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]


@pytest.mark.slow
def test_transfer_takes_a_preference_runs_reward_ensemble(tmp_path: Path) -> None:
    """Preference learning's reward is an ensemble (imitation's RewardEnsemble has no forward of
    its own): the fresh learner is trained on the members' mean."""
    run = tmp_path / "pref"
    proc = run_cli(["-m", "irlkit", *TINY_PREFERENCE, f"hydra.run.dir={run}"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_cli(["-m", "irlkit.transfer", f"run={run}", "budget=400", "progress=false"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((run / "transfer" / "transfer.json").read_text())
    assert result["source_algo"] == "preference" and result["learner"] == "SoftDQN"
    assert result["env_steps"] == 400


@pytest.mark.slow
def test_preference_runs_without_demos_and_its_absorbing_reward_transfers(tmp_path: Path) -> None:
    """Preference learning needs no demos: on an env with no dataset it trains, is scored by raw
    return (no normalization), re-evaluates, and its reward (trained with absorbing states, as
    CartPole-v1 terminates) trains a fresh DQN and a fresh PPO learner."""
    run = tmp_path / "pref"
    tiny = [
        *TINY_PREFERENCE,
        "env=gym",
        "env.id=CartPole-v1",
        "algo.ppo.n_steps=128",
        "algo.ppo.batch_size=64",
        "algo.ppo.n_epochs=1",
    ]
    proc = run_cli(["-m", "irlkit", *tiny, f"hydra.run.dir={run}"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no demos for CartPole-v1" in proc.stderr
    result = json.loads((run / "eval.json").read_text())
    assert result["demos"] is None and result["demo_return"] is None and result["normalized_score"] is None
    assert result["return_mean"] > 0 and result["demo_episodes"] == 0
    proc = run_cli(["-m", "irlkit.evaluate", f"run={run}"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run / "eval.json").unlink()  # as after a kill between training and scoring: still no demos to load
    proc = run_cli(["-m", "irlkit.evaluate", f"run={run}"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((run / "eval.json").read_text())["normalized_score"] is None
    for learner, cls in (("dqn", "SoftDQN"), ("ppo", "PPO")):
        proc = run_cli(["-m", "irlkit.transfer", f"run={run}", "budget=400", f"learner={learner}", "progress=false"])
        assert proc.returncode == 0, (learner, proc.stderr[-2000:])
        transfer = json.loads((run / "transfer" / "transfer.json").read_text())
        assert transfer["learner"] == cls and transfer["normalized_score"] is None
        assert transfer["return_mean"] > 0


def test_algorithms_that_need_demos_still_ask_for_them_on_an_env_without_a_dataset(tmp_path: Path) -> None:
    proc = run_cli(
        ["-m", "irlkit", "algo=bc", "env=gym", "env.id=CartPole-v1", "progress=false", f"hydra.run.dir={tmp_path}"]
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "has no default dataset" in proc.stderr and "demos=" in proc.stderr and "Traceback" not in proc.stderr
