"""SQIL: soft Q-learning on reward 1 for demos and 0 for the learner's own transitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from irlkit.algos import SQILConfig
from irlkit.envs import load_env_config
from irlkit.evaluate import EvalConfig
from irlkit.runconfig import RunConfig
from irlkit.train import run_training

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _sqil(env: str, cfg: SQILConfig, run_dir: Path, episodes: int = 2) -> dict:
    env_cfg = load_env_config(env)
    return run_training(
        RunConfig(algo=cfg, env=env_cfg, seed=0, eval=EvalConfig(episodes=episodes, curve_points=0), progress=False),
        run_dir,
    )


@pytest.mark.parametrize("env,learner", [("cartpole", "dqn"), ("pendulum", "sac")])
def test_sqil_runs_with_either_learner_and_spends_the_budget(env: str, learner: str, tmp_path: Path) -> None:
    from irlkit.algos import DQNConfig, SACConfig

    cfg = SQILConfig(
        budget=777,
        sac=SACConfig(learning_starts=300, batch_size=32, net_arch=[16]),
        dqn=DQNConfig(learning_starts=300, batch_size=32, net_arch=[16]),
    )
    result = _sqil(env, cfg, tmp_path)
    assert result["env_steps"] == 777 and result["learner"] == learner
    assert result["artifacts"] == {"policy": "policy.zip"}
    assert "reward_pearson" not in result  # SQIL learns no reward net


@pytest.mark.slow
def test_sqil_learns_cartpole_in_a_few_thousand_steps(tmp_path: Path) -> None:
    result = _sqil("cartpole", SQILConfig(budget=8000), tmp_path, episodes=10)
    assert result["normalized_score"] >= 0.9, result["returns"]
