"""`python -m irlkit.demos` as users and scripts call it: in a subprocess, reading exit codes and
output. Also checks the shipped datasets and experts, since training runs are scored against them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from irlkit.store import Dataset, DemoStore, shipped_demos_dir

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ["ls", "show", "validate", "import", "export", "filter", "rm", "compact", "recover", "generate"]


def demos(*args: str, root: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("IRLKIT_DEMOS", None)
    cmd = [sys.executable, "-m", "irlkit.demos", *args]
    if root is not None:
        cmd += ["--root", str(root)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, input=stdin, timeout=120)


def assert_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("irlkit.demos: error: ")
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in proc.stderr


def test_help_lists_every_command():
    proc = demos("--help")
    assert proc.returncode == 0
    for cmd in COMMANDS:
        assert f"    {cmd} " in proc.stdout
    sub = demos("import", "--help")
    assert "--format {minari,imitation,npz}" in sub.stdout and "--root DIR" in sub.stdout


@pytest.mark.slow
def test_generate_ls_show_validate_filter_export_import_rm(tmp_path):
    root = tmp_path / "store"
    gen = demos("generate", "cartpole", "rand", "--episodes", "3", "--policy", "random", "--seed", "5", root=root)
    assert gen.returncode == 0, gen.stderr
    assert "added 3 episodes" in gen.stdout
    again = demos("generate", "seals/CartPole-v0", "rand", "--episodes", "2", "--policy", "random", root=root)
    assert again.returncode == 0 and "it now holds 5 episodes" in again.stdout

    ds = Dataset.open(root / "rand")
    assert [m.seed for m in ds.metas] == [5, 6, 7, 0, 1]
    assert {m.device for m in ds.metas} == {"random"} and ds.env_id == "seals/CartPole-v0"

    ls = demos("ls", root=root)
    assert ls.returncode == 0
    row = next(line for line in ls.stdout.splitlines() if line.startswith("rand "))
    assert "seals/CartPole-v0" in row and " 5 " in row and "2500" in row and "policy" in row

    show = demos("show", "rand", root=root)
    assert show.returncode == 0 and "Discrete(2)" in show.stdout
    assert all(m.episode_id in show.stdout for m in ds.metas)

    assert demos("validate", "rand", root=root).returncode == 0

    best = sorted(m.episode_return for m in ds.metas)[-2]
    filt = demos("filter", "rand", "best", "--min-return", str(best), "--source", "policy", root=root)
    assert filt.returncode == 0, filt.stderr
    kept = Dataset.open(root / "best")
    assert len(kept) == 2 and all(m.episode_return >= best for m in kept.metas)
    assert {m.episode_id for m in kept.metas} <= {m.episode_id for m in ds.metas}
    assert_error(demos("filter", "rand", "none", "--operator", "nobody", root=root), "no episode of 'rand' matches")

    exp = demos("export", "--format", "imitation", "best", str(tmp_path / "hf"), root=root)
    assert exp.returncode == 0, exp.stderr
    imp = demos("import", "--format", "imitation", str(tmp_path / "hf"), "back", "--env", "cartpole", root=root)
    assert imp.returncode == 0, imp.stderr
    back = Dataset.open(root / "back")
    for a, b in zip(kept.episodes(), back.episodes()):
        assert np.array_equal(a.obs, b.obs) and np.array_equal(a.acts, b.acts) and np.array_equal(a.rews, b.rews)

    assert demos("compact", "rand", root=root).returncode == 0
    assert len(list((root / "rand" / "segments").iterdir())) == 1 and len(Dataset.open(root / "rand")) == 5

    refused = demos("rm", "back", root=root, stdin="")
    assert_error(refused, "--yes")
    assert (root / "back").exists()
    gone = demos("rm", "back", "--yes", root=root)
    assert gone.returncode == 0 and not (root / "back").exists()


def test_validate_reports_damage_and_exits_nonzero(tmp_path):
    root = tmp_path / "store"
    assert demos("generate", "pendulum", "p", "--episodes", "2", "--policy", "random", root=root).returncode == 0
    seg = next((root / "p" / "segments").iterdir())
    obs = np.load(seg / "obs.npy")
    obs[5, 0] = 0.123
    np.save(seg / "obs.npy", obs)
    proc = demos("validate", "p", root=root)
    assert proc.returncode == 1
    assert "obs.npy does not match its checksum" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_errors_are_one_paragraph_without_traceback(tmp_path):
    root = tmp_path / "store"
    assert_error(demos("show", "nope", root=root), "no dataset named 'nope'")
    assert_error(demos("show", "../outside", root=root), "not a plain name")
    assert_error(
        demos("generate", "cartpole", "../escape", "--episodes", "1", "--policy", "random", root=root),
        "not a plain name",
    )
    assert not (tmp_path / "escape").exists()
    assert_error(demos("generate", "no_such_env", "x", "--episodes", "1", root=root), "neither an env config")
    assert_error(demos("import", "--format", "npz", str(tmp_path / "missing.npz"), "x", root=root), "no such file")
    bad = tmp_path / "bad.npz"
    np.savez(
        bad,
        obs=np.zeros((3, 4), np.float32),
        actions=np.zeros((3, 1)),
        rewards=np.zeros(3),
        episode_starts=np.array([1, 0, 0]),
    )
    assert_error(demos("import", "--format", "npz", str(bad), "x", root=root), "--env")
    assert_error(demos("export", "--format", "minari", "nope", str(tmp_path / "m"), root=root), "no dataset named")
    # argparse's own usage errors also exit 2
    assert demos("import", "--format", "csv", "a", "b").returncode == 2


def _damaged_store(tmp_path: Path) -> Path:
    """A store root with one sound dataset `ok` (2 random CartPole episodes) to damage copies of."""
    root = tmp_path / "store"
    assert demos("generate", "cartpole", "ok", "--episodes", "2", "--policy", "random", root=root).returncode == 0
    return root


def test_damaged_and_hostile_datasets_are_one_paragraph_and_exit_2(tmp_path):
    import json
    import shutil

    root = _damaged_store(tmp_path)

    def copy(name: str) -> Path:
        shutil.copytree(root / "ok", root / name)
        return next((root / name / "segments").iterdir())

    header = copy("noeps") / "segment.json"
    header.write_text(json.dumps({k: v for k, v in json.loads(header.read_text()).items() if k != "episodes"}))
    assert_error(demos("validate", "noeps", root=root), "segment.json has no 'episodes' list")

    info = json.loads((root / "ok" / "dataset.json").read_text())
    copy("strver")
    (root / "strver" / "dataset.json").write_text(json.dumps({**info, "schema_version": "1"}))
    proc = demos("show", "strver", root=root)
    assert_error(proc, "schema_version '1', which is not a version number")
    assert "reads up to version" not in proc.stderr

    outside = tmp_path / "outside"
    shutil.copytree(root / "ok", outside)
    (root / "linked").symlink_to(outside)
    assert_error(demos("show", "linked", root=root), "symbolic link", "outside the store root")
    assert_error(demos("rm", "linked", "--yes", root=root), "symbolic link")
    assert (outside / "dataset.json").exists() and (root / "linked").is_symlink()
    assert "linked" in demos("ls", root=root).stdout  # still listed (as unreadable), not vanished

    seg = copy("seglink")
    shutil.move(seg, tmp_path / "loose")
    seg.symlink_to(tmp_path / "loose")
    assert_error(demos("validate", "seglink", root=root), "is a symbolic link", "outside the dataset's folder")


def test_a_root_that_does_not_exist_is_named_not_listed_as_empty(tmp_path):
    proc = demos("ls", root=tmp_path / "nonexistent")
    assert_error(proc, f"the store root {tmp_path / 'nonexistent'} (from --root) is not an existing folder")
    env = dict(os.environ, IRLKIT_DEMOS=str(tmp_path / "typo"))
    proc = subprocess.run(
        [sys.executable, "-m", "irlkit.demos", "ls"], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )
    assert_error(proc, "(from IRLKIT_DEMOS) is not an existing folder")
    assert_error(demos("show", "x", root=tmp_path / "nonexistent"), "a folder that does not exist")


def test_importing_a_file_that_is_not_an_npz_never_suggests_unpickling(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("obs,acts\n1,2\n")
    proc = demos("import", "--format", "npz", str(text), "x", "--env", "cartpole", root=tmp_path / "store")
    assert_error(proc, "is not an .npz file (an .npz is a zip archive of .npy arrays")
    assert "pickle" not in proc.stderr
    single = tmp_path / "one.npz"
    with open(single, "wb") as f:
        np.save(f, np.zeros(3))
    assert_error(
        demos("import", "--format", "npz", str(single), "y", "--env", "cartpole", root=tmp_path / "store"),
        "holds a single .npy array",
    )
    objects = tmp_path / "objects.npz"
    np.savez(
        objects,
        obs=np.array([{"a": 1}], dtype=object),
        actions=np.zeros(1),
        rewards=np.zeros(1),
        episode_starts=np.ones(1),
    )
    proc = demos("import", "--format", "npz", str(objects), "z", "--env", "cartpole", root=tmp_path / "store")
    assert_error(proc, "holds Python objects", "irlkit never does")
    assert "allow_pickle" not in proc.stderr


def test_irlkit_demos_env_var_sets_the_root(tmp_path):
    env = dict(os.environ, IRLKIT_DEMOS=str(tmp_path / "viaenv"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "irlkit.demos",
            "generate",
            "mountain_car",
            "mc",
            "--episodes",
            "1",
            "--policy",
            "random",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "viaenv" / "mc" / "dataset.json").exists()


# ------------------------------------------------------------------------------------------------
# shipped demos and experts
# ------------------------------------------------------------------------------------------------
SHIPPED = {
    # dataset: (env id, minimum mean return an expert reaches)
    "cartpole_expert": ("seals/CartPole-v0", 495.0),
    "mountain_car_expert": ("seals/MountainCar-v0", -115.0),
    "pendulum_expert": ("Pendulum-v1", -200.0),
    "mountain_car_continuous_expert": ("MountainCarContinuous-v0", 90.0),
    "cliff_world_expert": ("seals/CliffWorld7x4-v0", None),
    "hopper_expert": ("seals/Hopper-v1", 900.0),
    "half_cheetah_expert": ("seals/HalfCheetah-v1", 4900.0),
}


@pytest.mark.parametrize("name", list(SHIPPED))
def test_shipped_dataset_is_sound_and_expert(name):
    shipped = shipped_demos_dir()
    if shipped is None or not (shipped / name / "dataset.json").exists():
        pytest.fail(f"shipped dataset {name} is missing: run scripts/make_demos.py")
    ds = DemoStore(shipped).open(name, verify=True)
    env_id, min_return = SHIPPED[name]
    assert ds.env_id == env_id
    assert ds.validate() == []
    assert len(ds) >= 20 and "scripts/make_demos.py" in ds.description
    s = ds.summary()
    if min_return is not None:
        assert s["mean_return"] >= min_return, s
        assert s["sources"] == ["policy"]
    metas = ds.metas
    assert all(m.seed is not None and m.started_utc and m.device for m in metas)


def test_shipped_demos_are_small():
    shipped = shipped_demos_dir()
    total = sum(p.stat().st_size for p in shipped.rglob("*") if p.is_file())
    # 12.1 MB today: the two MuJoCo datasets (25 episodes of 1000 float64 steps each) are 7.2 MB of it.
    assert total < 16 * 2**20, f"demos/ holds {total / 2**20:.1f} MB"


@pytest.mark.slow
def test_generate_with_the_shipped_expert(tmp_path):
    proc = demos("generate", "cartpole", "exp", "--episodes", "2", "--seed", "123", root=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "shipped expert" in proc.stderr
    ds = Dataset.open(tmp_path / "exp")
    assert [m.episode_return for m in ds.metas] == [500.0, 500.0]
    assert {m.device for m in ds.metas} == {"sb3:PPO"}


def test_expert_cache_is_used_before_training(tmp_path, monkeypatch):
    """A cached expert (XDG_CACHE_HOME/irlkit/experts/<env>-seed<seed>.zip) is loaded, not retrained."""
    import shutil

    import irlkit.experts as experts
    from irlkit.envs import EnvConfig

    cache = tmp_path / "cache" / "irlkit" / "experts"
    cache.mkdir(parents=True)
    shutil.copy(shipped_demos_dir() / "_experts" / "cartpole.zip", cache / "cartpole_v1-seed4.zip")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def no_training(*args, **kwargs):
        raise AssertionError("trained although a cached expert exists")

    monkeypatch.setattr(experts.cache, "train_expert", no_training)
    cfg = EnvConfig(name="cartpole_v1", id="CartPole-v1", demos="none")
    model = experts.load_or_train_expert(cfg, seed=4, progress=False)
    assert type(model).__name__ == "PPO"
    with pytest.raises(AssertionError, match="trained although"):
        experts.load_or_train_expert(cfg, seed=5, progress=False)
