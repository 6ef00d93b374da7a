"""Policies and experts load without running code from the file, on both stacks, with clear errors."""

from __future__ import annotations

import base64
import json
import pickle
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import stable_baselines3 as sb3

from conftest import REPO, run_cli
from irlkit.errors import IrlkitError
from irlkit.policies import load_policy, load_sb3_model, save_policy_zip

STACKS = REPO / "tests" / "data" / "stacks"


class _TouchOnUnpickle:
    """A pickle payload that creates a file when unpickled: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _rewrite_zip(path: Path, replace: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as src:
        entries = {name: src.read(name) for name in src.namelist()}
    entries.update(replace)
    with zipfile.ZipFile(path, "w") as dst:
        for name, raw in entries.items():
            dst.writestr(name, raw)


def _tamper_data(path: Path, marker: Path) -> None:
    """Replace a pickled value in the zip's `data` with a payload, as an attacker would."""
    with zipfile.ZipFile(path) as z:
        data = json.loads(z.read("data"))
    payload = base64.b64encode(pickle.dumps(_TouchOnUnpickle(marker))).decode()
    data["lr_schedule"] = {":type:": "<class 'function'>", ":serialized:": payload}
    _rewrite_zip(path, {"data": json.dumps(data).encode()})


def _tamper_weights(path: Path, marker: Path) -> None:
    _rewrite_zip(path, {"policy.pth": _torch_bytes({"weights": _TouchOnUnpickle(marker)})})


def _torch_bytes(obj) -> bytes:
    import io

    import torch as th

    buf = io.BytesIO()
    th.save(obj, buf)
    return buf.getvalue()


def _cartpole_policy(seed: int = 0):
    env = gym.make("CartPole-v1")
    return sb3.PPO(
        "MlpPolicy", env, policy_kwargs={"net_arch": [8]}, seed=seed, device="cpu", n_steps=16, batch_size=16
    )


def _obs(n: int = 16) -> np.ndarray:
    space = gym.make("CartPole-v1").observation_space
    space.seed(3)
    return np.stack([space.sample() for _ in range(n)])


# ------------------------------------------------------------------------------------------------
# run folders
# ------------------------------------------------------------------------------------------------
def test_a_saved_policy_loads_and_acts_as_it_did(tmp_path: Path) -> None:
    model = _cartpole_policy()
    save_policy_zip(model.policy, tmp_path / "policy.zip")
    meta = json.loads((tmp_path / "policy.json").read_text())
    assert meta["sb3_class"] == "PPO" and meta["written_by"]["stable_baselines3"] == sb3.__version__
    assert meta["observation_space"]["type"] == "Box"
    assert meta["action_space"] == {"type": "Discrete", "n": 2, "start": 0}
    assert not list(tmp_path.glob(".*tmp*")), "the atomic save left a temporary file"
    loaded = load_policy(tmp_path)
    obs = _obs()
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.policy.predict(obs, deterministic=True)[0])
    plain = sb3.PPO.load(tmp_path / "policy.zip", device="cpu")  # users' way stays open
    assert np.array_equal(plain.predict(obs, deterministic=True)[0], model.policy.predict(obs, deterministic=True)[0])


def test_loading_a_policy_unpickles_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudpickle

    model = _cartpole_policy()
    model.save(tmp_path / "policy.zip")  # an RL trainer's way: the algorithm's own zip, pickled schedules and all
    from irlkit.policies import write_policy_json

    write_policy_json(tmp_path / "policy.zip", "PPO", model.observation_space, model.action_space)

    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(cloudpickle, "loads", refuse)
    loaded = load_policy(tmp_path)
    obs = _obs()
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


def test_a_tampered_policy_zip_runs_no_code(tmp_path: Path) -> None:
    save_policy_zip(_cartpole_policy().policy, tmp_path / "policy.zip")
    marker = tmp_path / "code-ran"
    _tamper_data(tmp_path / "policy.zip", marker)
    # the payload is live: SB3's own loader runs it
    sb3.PPO.load(tmp_path / "policy.zip", device="cpu")
    assert marker.exists()
    marker.unlink()
    load_policy(tmp_path).predict(_obs(), deterministic=True)
    assert not marker.exists()

    _tamper_weights(tmp_path / "policy.zip", marker)
    with pytest.raises(IrlkitError, match="refuses to load because unpickling them could run code"):
        load_policy(tmp_path)
    assert not marker.exists()


def test_a_policy_for_other_spaces_is_refused_naming_both_stacks(tmp_path: Path) -> None:
    save_policy_zip(_cartpole_policy().policy, tmp_path / "policy.zip")
    meta = json.loads((tmp_path / "policy.json").read_text())
    meta["observation_space"] = {"type": "Box", "shape": [5], "dtype": "<f4", "low": [-1.0] * 5, "high": [1.0] * 5}
    meta["written_by"]["stable_baselines3"] = "0.0.1"
    (tmp_path / "policy.json").write_text(json.dumps(meta))
    with pytest.raises(IrlkitError) as err:
        load_policy(tmp_path)
    text = str(err.value)
    assert "shape (4,)" in text and "Box(5,)" in text and "\n" not in text


@pytest.mark.parametrize(
    "edit, expected",
    [
        ({"sb3_class": "os.system"}, "names the policy class 'os.system'"),
        ({"file": "../../etc/passwd"}, "not a file name in the run folder"),
        ({"file": "missing.zip"}, "is missing"),
    ],
)
def test_a_changed_policy_json_is_refused(edit: dict, expected: str, tmp_path: Path) -> None:
    save_policy_zip(_cartpole_policy().policy, tmp_path / "policy.zip")
    meta = json.loads((tmp_path / "policy.json").read_text())
    (tmp_path / "policy.json").write_text(json.dumps({**meta, **edit}))
    with pytest.raises(IrlkitError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_policy(tmp_path)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"not a zip", "cannot be read as a zip"),
        (None, "not valid JSON"),
    ],
)
def test_a_damaged_policy_zip_is_one_paragraph(raw, expected: str, tmp_path: Path) -> None:
    save_policy_zip(_cartpole_policy().policy, tmp_path / "policy.zip")
    if raw is None:  # 4 KB of nested JSON
        _rewrite_zip(tmp_path / "policy.zip", {"data": b"[" * 200_000})
    else:
        (tmp_path / "policy.zip").write_bytes(raw)
    with pytest.raises(IrlkitError, match=expected) as err:
        load_policy(tmp_path)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------------
# the evaluate command on tampered, killed and mistaken runs
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def airl_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny AIRL run: a PPO policy.zip and a reward_net.pt."""
    run = tmp_path_factory.mktemp("airl") / "run"
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=airl",
            "algo.bc_warmstart_batches=10",
            "algo.budget=1024",
            "algo.ppo.n_steps=128",
            "algo.demo_batch_size=128",
            "eval.episodes=1",
            "eval.curve_points=0",
            "progress=false",
            f"hydra.run.dir={run}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run


def _copy(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(run, dst)
    return dst


def _one_paragraph_exit_2(proc: subprocess.CompletedProcess, expected: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if re.match(r"^(python -m )?irlkit[.\w]*: error: ", line)]
    assert len(errors) == 1 and expected in errors[0], proc.stderr[-3000:]


@pytest.mark.slow
def test_evaluate_runs_no_code_from_a_tampered_policy(airl_run: Path, tmp_path: Path) -> None:
    run = _copy(airl_run, tmp_path)
    marker = tmp_path / "code-ran"
    _tamper_data(run / "policy.zip", marker)
    proc = run_cli(["-m", "irlkit.evaluate", f"run={run}", "episodes=1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not marker.exists()
    _tamper_weights(run / "policy.zip", marker)
    _one_paragraph_exit_2(run_cli(["-m", "irlkit.evaluate", f"run={run}", "episodes=1"]), "could run code")
    assert not marker.exists()


@pytest.mark.slow
def test_evaluate_refuses_a_malicious_reward_net_in_one_paragraph(airl_run: Path, tmp_path: Path) -> None:
    run = _copy(airl_run, tmp_path)
    marker = tmp_path / "code-ran"
    (run / "reward_net.pt").write_bytes(_torch_bytes({"net": _TouchOnUnpickle(marker)}))
    _one_paragraph_exit_2(run_cli(["-m", "irlkit.evaluate", f"run={run}", "episodes=1"]), "reward_net.pt")
    assert not marker.exists()
    import torch as th

    th.save({"not": th.zeros(3)}, run / "reward_net.pt")  # tensors, but not this run's reward net
    _one_paragraph_exit_2(run_cli(["-m", "irlkit.evaluate", f"run={run}", "episodes=1"]), "does not fit")


@pytest.mark.slow
def test_evaluate_names_a_run_that_did_not_finish(airl_run: Path, tmp_path: Path) -> None:
    run = _copy(airl_run, tmp_path)
    for name in ("policy.json", "policy.zip", "reward_net.pt", "eval.json"):
        (run / name).unlink()
    _one_paragraph_exit_2(run_cli(["-m", "irlkit.evaluate", f"run={run}"]), "this run did not finish")


def test_zero_evaluation_episodes_are_refused(airl_run: Path, tmp_path: Path) -> None:
    run = _copy(airl_run, tmp_path)
    _one_paragraph_exit_2(run_cli(["-m", "irlkit.evaluate", f"run={run}", "episodes=0"]), "episodes=0")
    proc = run_cli(["-m", "irlkit", "algo.budget=20", "eval.episodes=0", f"hydra.run.dir={tmp_path / 'train'}"])
    _one_paragraph_exit_2(proc, "episodes=0")
    assert not (tmp_path / "train" / "policy.zip").exists(), "refused before training, not after"


# ------------------------------------------------------------------------------------------------
# experts
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["cartpole", "mountain_car", "pendulum", "mountain_car_continuous", "hopper", "half_cheetah"]
)
def test_shipped_experts_load_without_unpickling_and_act_as_sb3_loads_them(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name in ("hopper", "half_cheetah"):
        pytest.importorskip("mujoco", reason="pip install 'irlkit[mujoco]'")
    import cloudpickle

    from irlkit.envs import load_env_config
    from irlkit.experts import load_expert, shipped_expert_path

    cfg = load_env_config(name)
    path = shipped_expert_path(name)
    assert path is not None
    trusted = sb3.__dict__[json.loads(zipfile.ZipFile(path).read("data"))["irlkit_algo"]].load(path, device="cpu")

    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(cloudpickle, "loads", refuse)
    model = load_expert(path, cfg)
    assert type(model) is type(trusted)
    space = model.observation_space
    space.seed(0)
    obs = np.stack([space.sample() for _ in range(32)])
    np.testing.assert_allclose(
        model.predict(obs, deterministic=True)[0], trusted.predict(obs, deterministic=True)[0], rtol=1e-6, atol=1e-6
    )


def test_a_tampered_cached_expert_runs_no_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import irlkit.experts as experts
    from irlkit.envs import EnvConfig

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cfg = EnvConfig(name="cartpole_v1", id="CartPole-v1", demos="none")
    cached = experts.cached_expert_path(cfg.name, 0)
    cached.parent.mkdir(parents=True)
    shutil.copy(experts.shipped_expert_path("cartpole"), cached)
    marker = tmp_path / "code-ran"
    _tamper_data(cached, marker)
    model = experts.load_or_train_expert(cfg, progress=False)
    assert type(model).__name__ == "PPO" and not marker.exists()
    _tamper_weights(cached, marker)
    with pytest.raises(IrlkitError, match=f"delete {cached}"):
        experts.load_or_train_expert(cfg, progress=False)
    assert not marker.exists()


# ------------------------------------------------------------------------------------------------
# across stacks
# ------------------------------------------------------------------------------------------------
STACK_DIRS = sorted(p for p in STACKS.iterdir() if p.is_dir())


@pytest.mark.parametrize("stack", STACK_DIRS, ids=[p.name for p in STACK_DIRS])
def test_zips_saved_on_either_stack_load_here(stack: Path) -> None:
    """Fixtures written by tests/data/make_stack_fixtures.py on SB3 2.2.1 and on SB3 2.9.2."""
    expected = json.loads((stack / "expected.json").read_text())
    assert {"sb3-2.2.1", "sb3-2.9.2"} <= {p.name for p in STACK_DIRS}
    for name, want in expected["files"].items():
        env = gym.make(want["env_id"])
        obs = np.asarray(want["obs"], dtype=env.observation_space.dtype)
        if name == "run":
            policy = load_policy(stack / "run")
        else:
            policy = load_sb3_model(
                stack / name, observation_space=env.observation_space, action_space=env.action_space, what=name
            )
            assert type(policy).__name__ == want["algo"], name
        np.testing.assert_allclose(
            policy.predict(obs, deterministic=True)[0],
            np.asarray(want["actions"]),
            rtol=1e-5,
            atol=1e-5,
            err_msg=f"{stack.name}/{name}",
        )


def _other_venv() -> Path | None:
    here = tuple(int(x) for x in sb3.__version__.split(".")[:2])
    other = REPO / (".venv-pinned" if here >= (2, 7) else ".venv")
    return other / "bin" / "python" if (other / "bin" / "python").exists() else None


@pytest.mark.slow
@pytest.mark.skipif(_other_venv() is None, reason="needs the other stack's venv (.venv and .venv-pinned, as CI makes)")
def test_a_policy_saved_on_the_other_stack_loads_here(tmp_path: Path) -> None:
    other = _other_venv()
    script = (
        "import sys, json, numpy as np, gymnasium as gym, stable_baselines3 as sb3\n"
        "from irlkit.policies import save_policy_zip\n"
        "m = sb3.PPO('MlpPolicy', gym.make('CartPole-v1'), policy_kwargs={'net_arch': [16]}, seed=5, n_steps=16,"
        " batch_size=16, device='cpu')\n"
        "m.learn(32)\n"
        "save_policy_zip(m.policy, __import__('pathlib').Path(sys.argv[1]) / 'policy.zip', m)\n"
        "obs = np.asarray(json.loads(sys.argv[2]), dtype=np.float32)\n"
        "print(json.dumps(m.predict(obs, deterministic=True)[0].tolist()))\n"
    )
    obs = _obs()
    proc = subprocess.run(
        [str(other), "-c", script, str(tmp_path), json.dumps(obs.tolist())],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    written = json.loads((tmp_path / "policy.json").read_text())["written_by"]["stable_baselines3"]
    assert written != sb3.__version__
    assert load_policy(tmp_path).predict(obs, deterministic=True)[0].tolist() == theirs
    assert sys.executable != str(other)
