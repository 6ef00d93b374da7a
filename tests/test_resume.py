"""Checkpoints and `python -m irlkit resume=<run folder>`: a killed run continues to its full budget."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, run_cli, run_config
from irlkit.algos import ALGORITHMS
from irlkit.evaluate import EvalConfig
from irlkit.runconfig import RunConfig
from irlkit.train import resume_training, run_training


class Stop(Exception):
    """Stands in for a kill between two rounds, after the checkpoint of that round was written."""


def _stop_after(units: int):
    def hook(trainer) -> None:
        original = trainer.train

        def train(budget, progress):
            seen = 0

            def report(n: int) -> None:
                nonlocal seen
                progress(n)  # the run's own progress: counts, and writes the checkpoint (checkpoint_s=0)
                seen += n
                if seen >= units:
                    raise Stop

            original(budget, report)

        trainer.train = train

    return hook


def test_mce_irl_resumed_equals_unkilled(tmp_path: Path) -> None:
    """MCE IRL is deterministic under its seed (full-batch gradients on a known MDP): resuming gives the
    very numbers of a run that was never stopped."""
    config = run_config(
        [
            "algo=mce_irl",
            "env=cliff_world",
            "algo.budget=60",
            "eval.episodes=3",
            "eval.curve_points=3",
            "checkpoint_s=0",
            "progress=false",
        ]
    )
    whole = run_training(config, tmp_path / "whole")
    with pytest.raises(Stop):
        run_training(config, tmp_path / "killed", on_trainer=_stop_after(30))
    assert not (tmp_path / "killed" / "eval.json").exists()
    resumed = resume_training(tmp_path / "killed")
    assert resumed["budget_spent"] == whole["budget_spent"] == 60
    assert resumed["returns"] == whole["returns"]
    assert resumed["reward_pearson"] == pytest.approx(whole["reward_pearson"], abs=1e-9)
    assert (tmp_path / "killed" / "curve.csv").read_text().count("\n") == 4  # header + 3 points, none twice


@pytest.mark.slow
@pytest.mark.parametrize(
    "algo, overrides",
    [
        ("bc", ["algo.budget=400"]),
        ("dagger", ["algo.budget=800", "algo.round_steps=200", "algo.bc_epochs_per_round=1", "algo.use_demos=false"]),
        ("ppo", ["algo.budget=4096", "algo.ppo.n_steps=128", "env.n_envs=4"]),
        ("density", ["algo.budget=2048", "algo.ppo.n_steps=128", "env.n_envs=4"]),
        (
            "gail",
            ["algo.budget=1500", "algo.dqn.learning_starts=300", "algo.dqn.net_arch=[16]", "algo.demo_batch_size=64"],
        ),
        (
            "airl",
            [
                "env=pendulum",
                "algo.budget=900",
                "algo.sac.learning_starts=300",
                "algo.sac.net_arch=[16]",
                "algo.demo_batch_size=64",
            ],
        ),
        (
            "gail",
            ["algo.learner=ppo", "algo.budget=2048", "algo.ppo.n_steps=128", "env.n_envs=4", "algo.demo_batch_size=64"],
        ),
        (
            "airl",
            ["algo.learner=ppo", "algo.budget=2048", "algo.ppo.n_steps=128", "env.n_envs=4", "algo.demo_batch_size=64"],
        ),
        ("sqil", ["algo.budget=1500", "algo.dqn.learning_starts=300", "algo.dqn.net_arch=[16]"]),
    ],
)
def test_a_stopped_run_resumes_to_its_full_budget(algo: str, overrides: list[str], tmp_path: Path) -> None:
    config = run_config(
        [f"algo={algo}", *overrides, "eval.episodes=2", "eval.curve_points=2", "checkpoint_s=0", "progress=false"]
    )
    budget = config.algo.budget
    with pytest.raises(Stop):
        run_training(config, tmp_path, on_trainer=_stop_after(budget // 2))
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert 0 < state["meta"]["run"]["done"] < budget
    result = resume_training(tmp_path)
    assert result["budget"] == budget and result["budget_spent"] == budget
    assert result["env_steps"] == (0 if algo == "bc" else budget)


@pytest.mark.slow
def test_resume_from_the_command_line_after_sigkill(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "irlkit",
        "algo=bc",
        "algo.budget=5000",
        "checkpoint_s=0.2",
        "eval.episodes=2",
        "eval.curve_points=0",
        "progress=false",
        f"hydra.run.dir={run}",
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "checkpoint" / "state.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert (run / "checkpoint" / "state.json").exists(), "no checkpoint was written"
    done = json.loads((run / "checkpoint" / "state.json").read_text())["meta"]["run"]["done"]
    assert 0 < done < 5_000
    out = run_cli(["-m", "irlkit", f"resume={run}"], timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"resuming {run}" in out.stderr
    result = json.loads((run / "eval.json").read_text())
    assert result["budget_spent"] == 5_000
    again = run_cli(["-m", "irlkit", f"resume={run}"], timeout=120)
    assert again.returncode == 2 and "finished already" in again.stderr


def test_resume_mistakes_are_one_paragraph(tmp_path: Path) -> None:
    out = run_cli(["-m", "irlkit", f"resume={tmp_path}"], timeout=120)
    assert out.returncode == 2 and "not an irlkit run folder" in out.stderr and "Traceback" not in out.stderr
    out = run_cli(["-m", "irlkit", f"resume={tmp_path}", "seed=3"], timeout=120)
    assert out.returncode == 2 and "takes no other options" in out.stderr


@pytest.mark.slow
def test_budgets_are_spent_as_asked_or_rounded_with_a_notice(tmp_path: Path) -> None:
    from irlkit.algos.configs import PPOConfig

    config = RunConfig(
        algo=ALGORITHMS["ppo"].config(budget=10_000, ppo=PPOConfig(n_steps=128)),
        eval=EvalConfig(episodes=1, curve_points=0),
        progress=False,
    )
    result = run_training(config, tmp_path)
    assert result["budget"] == 10_000 and result["budget_spent"] == result["env_steps"] == 10_240  # 10 x 128 x 8 envs


@pytest.mark.slow
@pytest.mark.parametrize("env, learner", [("cartpole", "dqn"), ("pendulum", "sac")])
def test_a_stopped_preference_run_resumes_its_labels_and_learner(
    env: str, learner: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preference learning resumes to its full budget with every label asked exactly once: the labelled
    pairs, the reward ensemble and the counters come back, and labels.csv gets no row twice."""
    import irlkit.algos.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "_fsync_tree", lambda folder: None)  # ~100 checkpoints; fsync is 0.2 s each here
    config = run_config(
        [
            "algo=preference",
            f"env={env}",
            "algo.budget=1500",
            "algo.total_comparisons=20",
            "algo.num_iterations=2",
            "algo.query_span=1.0",
            "algo.fragment_length=20",
            "algo.pretrain_steps=200",
            f"algo.{learner}.learning_starts=200",
            f"algo.{learner}.net_arch=[16]",
            "algo.reward_net_arch=[16]",
            "algo.reward_epochs=3",
            "algo.ensemble_size=2",
            "algo.label_curve_episodes=1",
            "eval.episodes=1",
            "eval.curve_points=0",
            "checkpoint_s=0",
            "progress=false",
        ]
    )
    with pytest.raises(Stop):
        run_training(config, tmp_path, on_trainer=_stop_after(750))
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert state["meta"]["run"]["done"] == 750
    pref = state["meta"]["pref"]
    assert pref["queries_done"] == 2 and 0 < pref["asked"] < 20 and pref["reward"]["mode"] == "learned"
    assert pref["gatherer"]["asked"] == pref["asked"] and pref["label_curve"]["rows"] == 2  # the teacher's tallies
    seen: list = []
    result = resume_training(tmp_path, on_trainer=seen.append)
    assert len(seen[0].dataset) == result["comparisons_trained_on"]
    assert result["budget_spent"] == result["env_steps"] == 1500
    assert result["comparisons_asked"] == 20 and result["queries"] == 3 and result["reward_updates"] == 3
    rows = (tmp_path / "labels.csv").read_text().splitlines()[1:]
    asked = [int(r.split(",")[0]) for r in rows]
    assert asked == sorted(set(asked)) and len(rows) == 4  # one row before each of the 3 queries, one at the end
    assert asked[-1] == 20
    candidates = [step for step, _ in result["selection_history"]]  # the kept policy's candidates: none lost or twice
    assert candidates == sorted(set(candidates)) and candidates[-1] == 1500 and len(candidates) >= 4


def test_a_killed_hg_dagger_run_resumes_with_every_correction(tmp_path: Path) -> None:
    """HG-DAgger with the scripted person: the corrections are in the store as given, the
    checkpoint holds the counters, and the resumed run spends the rest of the budget."""
    from irlkit.algos.checkpoint import read_checkpoint
    from irlkit.store import DemoStore

    store = tmp_path / "store"
    config = run_config(
        [
            "algo=dagger",
            "expert=human",
            "expert.input=scripted",
            f"expert.store_root={store}",
            "expert.dataset=cp_corr",
            "operator=script-0",
            "env.max_episode_steps=100",
            "algo.use_demos=false",
            "algo.bc_epochs_per_round=1",
            "expert.min_batches_per_round=5",
            "algo.budget=300",
            "algo.round_steps=100",
            "eval.episodes=2",
            "eval.curve_points=0",
            "checkpoint_s=0",
            "progress=false",
        ]
    )
    run = tmp_path / "run"
    with pytest.raises(Stop):
        run_training(config, run, on_trainer=_stop_after(200))
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["meta"]["hg_dagger"]["steps"] == 200 and len(state["meta"]["hg_dagger"]["rounds"]) == 2
    stored = len(DemoStore(store).open("cp_corr"))
    result = resume_training(run)
    assert result["budget_spent"] == 300 and result["env_steps"] == 300
    assert len(result["rounds"]) == 3 and [r["round"] for r in result["rounds"]] == [0, 1, 2]
    assert len(DemoStore(store).open("cp_corr")) > stored  # the resumed round's corrections join the killed run's
    ckpt = read_checkpoint(run)
    assert ckpt is not None and len(ckpt.arrays["hg_dagger.acts"]) == result["labels"]  # trained on every label
