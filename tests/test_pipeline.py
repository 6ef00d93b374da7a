"""The main job: configs compose, every algorithm runs, BC learns, bad input is explained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli, run_config
from irlkit.algos import ALGORITHMS
from irlkit.cli.app import config_dir
from irlkit.train import run_training

ENVS = sorted(p.stem for p in (Path(config_dir()) / "env").glob("*.yaml"))


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
@pytest.mark.parametrize("env", ENVS)
def test_every_algo_env_config_composes(algo: str, env: str) -> None:
    config = run_config([f"algo={algo}", f"env={env}"])
    assert isinstance(config.algo, ALGORITHMS[algo].config)
    assert config.env.name == env
    assert config.demos_ref == config.env.demos


def test_default_is_bc_on_cartpole() -> None:
    config = run_config([])
    assert (config.algo.name, config.env.name, config.demos_ref) == ("bc", "cartpole", "cartpole_expert")


TINY = {
    "bc": ["algo.budget=50"],
    "dagger": ["algo.budget=600", "algo.round_steps=300", "algo.bc_epochs_per_round=1"],
    "gail": ["algo.budget=2048", "algo.ppo.n_steps=128", "algo.demo_batch_size=256"],
    "airl": ["algo.budget=2048", "algo.ppo.n_steps=128", "algo.demo_batch_size=256"],
    "preference": [
        "algo.budget=2048",
        "algo.pretrain_steps=0",
        "algo.dqn.learning_starts=500",
        "algo.num_iterations=2",
        "algo.total_comparisons=20",
        "algo.fragment_length=20",
    ],
    "density": ["algo.budget=1024", "algo.ppo.n_steps=128"],
    "mce_irl": ["algo.budget=5", "env=cliff_world"],
    "ppo": ["algo.budget=1024", "algo.ppo.n_steps=128"],
    "sqil": ["algo.budget=1500", "algo.dqn.learning_starts=500"],
}


@pytest.mark.slow
@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_smoke_run_of_every_algorithm(algo: str, tmp_path: Path) -> None:
    assert algo in TINY, f"give the new algorithm {algo!r} a tiny budget in TINY"
    config = run_config(
        [
            f"algo={algo}",
            "eval.episodes=2",
            "eval.curve_points=2",
            "eval.curve_episodes=1",
            "progress=false",
            *TINY[algo],
        ]
    )
    result = run_training(config, tmp_path)
    saved = json.loads((tmp_path / "eval.json").read_text())
    for key in (
        "return_mean",
        "return_std",
        "episodes",
        "demo_return",
        "random_return",
        "normalized_score",
        "env_steps",
        "wall_s",
    ):
        assert key in saved, key
    assert saved["episodes"] == 2 and len(saved["returns"]) == 2
    assert saved == json.loads(json.dumps(result))
    assert (tmp_path / "policy.json").exists()
    assert list((tmp_path / "logs").glob("*.csv")), "imitation's logs must land in the run folder"
    curve = (tmp_path / "curve.csv").read_text().strip().splitlines()
    assert curve[0] == "budget_done,env_steps,return_mean,wall_s"
    assert 1 <= len(curve) - 1 <= 2  # at most curve_points points (marks crossed together share one)
    assert int(curve[-1].split(",")[0]) == int(config.algo.budget) or algo in ("dagger",)
    if ALGORITHMS[algo].learns_reward:
        assert "reward_pearson" in saved
        if algo != "density":
            assert (tmp_path / "reward_net.pt").exists()


@pytest.mark.slow
def test_same_seed_same_numbers(tmp_path: Path) -> None:
    results = []
    for k in range(2):
        config = run_config(
            ["algo=gail", "eval.episodes=2", "eval.curve_points=0", "seed=3", "progress=false", *TINY["gail"]]
        )
        results.append(run_training(config, tmp_path / str(k)))
    assert results[0]["returns"] == results[1]["returns"]
    assert results[0]["reward_pearson"] == results[1]["reward_pearson"]


@pytest.mark.slow
def test_bc_learns_cartpole_from_shipped_demos(tmp_path: Path) -> None:
    proc = run_cli(["-m", "irlkit", "algo=bc", "progress=false", f"hydra.run.dir={tmp_path}"])
    assert proc.returncode == 0, proc.stderr
    score = json.loads((tmp_path / "eval.json").read_text())["normalized_score"]
    assert score >= 0.9, f"BC on the shipped CartPole demos scored {score}"
    assert "normalized score" in proc.stdout
    assert (tmp_path / "config.yaml").exists() and (tmp_path / "policy.zip").exists()


@pytest.mark.slow
def test_evaluate_a_saved_run(tmp_path: Path) -> None:
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=bc",
            "algo.budget=200",
            "progress=false",
            "eval.curve_points=0",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    before = json.loads((tmp_path / "eval.json").read_text())
    proc = run_cli(["-m", "irlkit.evaluate", f"run={tmp_path}", "episodes=3"])
    assert proc.returncode == 0, proc.stderr
    after = json.loads((tmp_path / "eval.json").read_text())
    assert after["episodes"] == 3 and after["wall_s"] == before["wall_s"]
    assert after["returns"] == before["returns"][:3]  # same fixed evaluation seeds
    pytest.importorskip("imageio", reason="video needs the video extra (imageio, imageio-ffmpeg)")
    proc = run_cli(["-m", "irlkit.evaluate", f"run={tmp_path}", "episodes=1", "video=true"])
    assert proc.returncode == 0, proc.stderr
    video = tmp_path / json.loads((tmp_path / "eval.json").read_text())["video"]
    assert video.exists() and video.stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["airl", "gail"])
def test_evaluate_a_saved_adversarial_run_rebuilds_its_reward_net(algo: str, tmp_path: Path) -> None:
    proc = run_cli(
        [
            "-m",
            "irlkit",
            f"algo={algo}",
            *TINY[algo],
            "algo.bc_warmstart_batches=10",
            "progress=false",
            "eval.curve_points=0",
            "eval.episodes=2",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    before = json.loads((tmp_path / "eval.json").read_text())
    proc = run_cli(["-m", "irlkit.evaluate", f"run={tmp_path}", "episodes=2"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = json.loads((tmp_path / "eval.json").read_text())
    assert after["returns"] == before["returns"] and after["reward_pearson"] == pytest.approx(before["reward_pearson"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, expected",
    [
        (["algo=nope"], "algo"),
        (["env=nope"], "env"),
        (["demos=no_such_dataset"], "no dataset named 'no_such_dataset'"),
        (["algo.total_timestep=1"], "total_timestep"),
        (["algo=gail", "algo.demo_batch_size=abc"], "demo_batch_size"),
        (["env=mountain_car", "demos=cartpole_expert"], "observation space"),
        (["demos=../no_such_folder"], "is not an irlkit dataset"),
        (["env=lunar_lander"], "python -m irlkit.demos generate lunar_lander lunar_lander_expert"),
    ],
)
def test_bad_input_is_one_clear_error(args: list[str], expected: str, tmp_path: Path) -> None:
    proc = run_cli(["-m", "irlkit", *args, f"hydra.run.dir={tmp_path}"])
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_empty_dataset_is_refused(store_root: Path, tmp_path: Path) -> None:
    import gymnasium as gym
    import seals  # noqa: F401

    from irlkit.store import DemoStore

    env = gym.make("seals/CartPole-v0")
    DemoStore(store_root).create(
        "empty", env_id="seals/CartPole-v0", observation_space=env.observation_space, action_space=env.action_space
    )
    proc = run_cli(["-m", "irlkit", "demos=empty", f"hydra.run.dir={tmp_path}"])
    assert proc.returncode == 2
    assert "no episodes" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_demos_given_as_a_path(tmp_path: Path) -> None:
    from irlkit.store import DemoStore

    path = DemoStore().path_of("cartpole_expert")
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo.budget=20",
            "eval.episodes=1",
            "eval.curve_points=0",
            "progress=false",
            f"demos={path}",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "eval.json").read_text())["demos"] == str(path)


@pytest.mark.slow
def test_installed_wheel_finds_conf_and_demos(tmp_path: Path) -> None:
    """`pip install .` then run from another folder: conf/ and the shipped demos come with the wheel."""
    import subprocess
    import sys

    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(REPO)],
        check=True,
        capture_output=True,
    )
    wheel = next(wheel_dir.glob("irlkit-*.whl"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(target), "IRLKIT_DEMOS": str(tmp_path / "userstore")}
    proc = run_cli(
        ["-m", "irlkit", "algo=bc", "algo.budget=50", "eval.episodes=1", "eval.curve_points=0", "progress=false"],
        cwd=elsewhere,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    probe = run_cli(["-c", "import irlkit; print(irlkit.__file__)"], cwd=elsewhere, env=env)
    assert str(target) in probe.stdout
    assert list(elsewhere.glob("outputs/bc-cartpole/*/eval.json"))


@pytest.mark.slow
def test_policy_zip_loads_with_plain_sb3(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo.budget=20",
            "eval.episodes=1",
            "eval.curve_points=0",
            "progress=false",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    model = PPO.load(tmp_path / "policy.zip", device="cpu")
    action, _ = model.predict(np.zeros(4, dtype=np.float32), deterministic=True)
    assert int(action) in (0, 1)
