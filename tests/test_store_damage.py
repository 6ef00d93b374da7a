"""Damaged or hostile datasets are refused with one paragraph naming the problem and the fix, and
training refuses data that `validate` rejects (issue 15, items 3 and 4). Each case is made the way
a careless or hostile user makes it: by editing the files on disk."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from conftest import run_cli
from irlkit.errors import SchemaVersionError, StoreError
from irlkit.store import Dataset, DemoStore, Episode, EpisodeMeta
from irlkit.train import SelectConfig, load_demos

OBS = spaces.Box(-1.0, 1.0, (4,), np.float32)


@pytest.fixture()
def store(tmp_path) -> DemoStore:
    """A store holding `ds`: 3 episodes in one segment, CartPole-shaped spaces."""
    store = DemoStore(tmp_path / "store")
    ds = store.create("ds", env_id="test-v0", observation_space=OBS, action_space=spaces.Discrete(2))
    rng = np.random.default_rng(0)
    ds.append_episodes(
        [
            Episode(
                obs=rng.uniform(-1, 1, (t + 1, 4)).astype(np.float32),
                acts=rng.integers(0, 2, t),
                rews=rng.normal(size=t),
                truncated=True,
                meta=EpisodeMeta(source="script"),
            )
            for t in (20, 30, 25)
        ]
    )
    return store


def segment(store: DemoStore, name: str = "ds") -> Path:
    return sorted((store.root / name / "segments").iterdir())[0]  # names sort by commit time


def edit_header(seg: Path, edit) -> None:
    header = json.loads((seg / "segment.json").read_text())
    edit(header)
    (seg / "segment.json").write_text(json.dumps(header))


def replace_column(seg: Path, name: str, array: np.ndarray) -> None:
    """Write a new column and make the header agree with it: size and checksum both match."""
    np.save(seg / f"{name}.npy", array)
    data = (seg / f"{name}.npy").read_bytes()
    edit_header(
        seg,
        lambda h: h["files"].__setitem__(
            f"{name}.npy", {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        ),
    )


def one_paragraph(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    return text


# ------------------------------------------------------------------------------------------------
# refused when opened or read
# ------------------------------------------------------------------------------------------------
def test_a_segment_header_without_episodes(store):
    edit_header(segment(store), lambda h: h.pop("episodes"))
    with pytest.raises(StoreError, match=r"segment.json has no 'episodes' list.*edited or damaged.*Restore it"):
        store.open("ds")


@pytest.mark.parametrize("length", [-5, 0, 2.5, "20", True])
def test_an_episode_length_that_is_not_a_positive_whole_number(store, length):
    edit_header(segment(store), lambda h: h["episodes"][0].__setitem__("length", length))
    with pytest.raises(StoreError, match=r"gives episode 0 the length .*a whole number of steps, at least 1"):
        store.open("ds")


def test_an_edited_episode_length_is_refused_before_imitation_sees_it(store):
    """Was an IndexError inside to_transitions."""
    edit_header(segment(store), lambda h: h["episodes"][0].__setitem__("length", 70))
    ds = store.open("ds")  # sizes and header fields are fine: it opens
    with pytest.raises(StoreError, match=r"obs.npy has 78 rows, but the lengths in segment.json need 128") as info:
        ds.to_transitions()
    assert "Restore it from a backup" in one_paragraph(info.value)
    assert any("need 128" in p for p in ds.validate())


def test_observations_of_the_wrong_width(store):
    """Was a torch RuntimeError deep inside training."""
    seg = segment(store)
    obs = np.load(seg / "obs.npy")
    replace_column(seg, "obs", np.concatenate([obs, obs[:, :1]], axis=1))
    ds = store.open("ds")
    with pytest.raises(
        StoreError,
        match=r"obs.npy holds rows of shape \(5,\).*observation space Box\(4,\) float32 "
        r"needs shape \(4,\)",
    ):
        ds.episode(0)
    with pytest.raises(StoreError, match=r"rows of shape \(5,\)"):
        ds.check()


def test_a_column_of_another_dtype(store):
    seg = segment(store)
    replace_column(seg, "acts", np.load(seg / "acts.npy").astype(np.float32))
    with pytest.raises(
        StoreError,
        match="acts.npy holds rows of shape \\(\\) and dtype float32, but the dataset's "
        "action space Discrete\\(2\\) needs shape \\(\\) and dtype int64",
    ):
        store.open("ds").to_trajectories()


@pytest.mark.parametrize("where", ["dataset.json", "segment.json"])
def test_a_schema_version_written_as_a_string(store, where):
    """Said "version 1, but this irlkit reads up to version 1"."""
    path = store.root / "ds" / "dataset.json" if where == "dataset.json" else segment(store) / "segment.json"
    info = json.loads(path.read_text())
    info["schema_version"] = "1"
    path.write_text(json.dumps(info))
    with pytest.raises(StoreError, match=r"schema_version '1', which is not a version number") as info_:
        store.open("ds")
    assert not isinstance(info_.value, SchemaVersionError) and "reads up to" not in str(info_.value)


def test_metadata_that_is_not_an_object(store):
    (store.root / "ds" / "dataset.json").write_text("[1, 2]")
    with pytest.raises(StoreError, match="holds a JSON list, not an object"):
        store.open("ds")


def test_infos_lines_that_do_not_fit_the_episodes(tmp_path):
    ds = DemoStore(tmp_path).create("i", env_id="test-v0", observation_space=OBS, action_space=spaces.Discrete(2))
    ds.append_episode(
        Episode(
            obs=np.zeros((4, 4), np.float32),
            acts=np.zeros(3, np.int64),
            rews=np.zeros(3),
            infos=[{"t": t} for t in range(3)],
        )
    )
    seg = next((ds.path / "segments").iterdir())
    data = b'[{"t": 0}]\n'
    (seg / "infos.jsonl").write_bytes(data)
    edit_header(
        seg,
        lambda h: h["files"].__setitem__(
            "infos.jsonl", {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        ),
    )
    with pytest.raises(StoreError, match="infos.jsonl line 1 is not a list of 3 step infos"):
        Dataset.open(ds.path).episode(0)


# ------------------------------------------------------------------------------------------------
# symbolic links that lead out of the root or the dataset
# ------------------------------------------------------------------------------------------------
def test_a_dataset_linked_in_from_outside_the_root_is_refused(store, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.move(store.root / "ds", outside)
    (store.root / "ds").symlink_to(outside)
    with pytest.raises(
        StoreError,
        match=r"dataset 'ds' in .* is a symbolic link to .*elsewhere, outside the store "
        r"root.*pass its path instead of a name",
    ) as info:
        store.open("ds")
    one_paragraph(info.value)
    assert Dataset.open(outside).validate() == []  # the same data, given by path, is the caller's choice


def test_a_dataset_linked_from_inside_the_root_is_read_but_not_removed_through_the_link(store):
    (store.root / "alias").symlink_to(store.root / "ds")
    assert len(store.open("alias")) == 3
    with pytest.raises(StoreError, match=r"is a symbolic link to .*irlkit does not delete through links"):
        store.remove("alias")
    assert (store.root / "alias").is_symlink() and len(store.open("ds")) == 3 and "alias" in store.names()


def test_a_segment_linked_in_from_outside_the_dataset_is_refused(store, tmp_path):
    seg = segment(store)
    shutil.move(seg, tmp_path / "loose")
    seg.symlink_to(tmp_path / "loose")
    with pytest.raises(
        StoreError,
        match=r"segment .* of dataset 'ds' is a symbolic link to .*loose, outside the "
        r"dataset's folder",
    ):
        store.open("ds")


def test_a_column_file_linked_to_outside_the_dataset_is_refused(store, tmp_path):
    seg = segment(store)
    shutil.move(seg / "rews.npy", tmp_path / "rews.npy")
    (seg / "rews.npy").symlink_to(tmp_path / "rews.npy")
    with pytest.raises(StoreError, match=r"file rews.npy is a symbolic link to .*, outside the dataset's folder"):
        store.open("ds")


# ------------------------------------------------------------------------------------------------
# training checks its data first, and refuses with validate's message
# ------------------------------------------------------------------------------------------------
def _flip_a_byte(seg: Path) -> None:
    data = bytearray((seg / "rews.npy").read_bytes())
    data[-3] ^= 0x40  # same size: only the checksum can tell
    (seg / "rews.npy").write_bytes(bytes(data))


def _nan_observation(seg: Path) -> None:
    obs = np.load(seg / "obs.npy")
    obs[7, 2] = np.nan
    replace_column(seg, "obs", obs)


def _action_out_of_space(seg: Path) -> None:
    acts = np.load(seg / "acts.npy")
    acts[30] = 7  # Discrete(2): episode 1, step 10
    replace_column(seg, "acts", acts)


def _inf_reward(seg: Path) -> None:
    rews = np.load(seg / "rews.npy")
    rews[60] = np.inf
    replace_column(seg, "rews", rews)


@pytest.mark.parametrize(
    "damage, problem",
    [
        (_flip_a_byte, "segment .*: file rews.npy does not match its checksum"),
        (_nan_observation, r"episode 0 \(\w+\): field 'obs' has NaN or inf at step 7"),
        (_action_out_of_space, r"episode 1 \(\w+\): field 'acts' at step 10 is 7, outside the space Discrete\(2\)"),
        (_inf_reward, r"episode 2 \(\w+\): field 'rews' has NaN or inf at step 10"),
    ],
)
def test_training_refuses_what_validate_rejects(store, damage, problem):
    damage(segment(store))
    [reported] = store.open("ds").validate()
    with pytest.raises(StoreError, match=f"dataset 'ds' .* fails its check and is not used: {problem}") as info:
        load_demos("ds", SelectConfig(), root=str(store.root))
    assert reported in one_paragraph(info.value) and "python -m irlkit.demos validate ds" in str(info.value)


def test_the_check_covers_only_the_selected_episodes_segments(store):
    ds = store.open("ds")
    ds.append_episode(
        Episode(
            obs=np.zeros((3, 4), np.float32),
            acts=np.zeros(2, np.int64),
            rews=np.zeros(2),
            meta=EpisodeMeta(source="teleop", operator="op-1"),
        )
    )
    _flip_a_byte(segment(store))  # the first segment: script episodes only
    load_demos("ds", SelectConfig(source="teleop"), root=str(store.root))  # the teleop one is sound
    with pytest.raises(StoreError, match="does not match its checksum"):
        load_demos("ds", SelectConfig(), root=str(store.root))
    with pytest.raises(StoreError, match="no episodes matching the selection"):
        load_demos("ds", SelectConfig(operator="nobody"), root=str(store.root))


def test_a_sound_dataset_passes_the_check_and_trains_unchanged(store):
    view = load_demos("ds", SelectConfig(), root=str(store.root))
    assert len(view) == 3 and len(view.to_transitions()) == 75


@pytest.mark.slow
def test_the_training_command_refuses_a_tampered_dataset_with_exit_2(store, tmp_path):
    from irlkit.envs import load_env_config, make_env

    env = make_env(load_env_config("cartpole"))
    ds = store.create(
        "cp", env_id="seals/CartPole-v0", observation_space=env.observation_space, action_space=env.action_space
    )
    env.close()
    ds.append_episode(Episode(obs=np.zeros((6, 4), np.float32), acts=np.zeros(5, np.int64), rews=np.ones(5)))
    _flip_a_byte(segment(store, "cp"))
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=bc",
            "demos=cp",
            f"demos_root={store.root}",
            "progress=false",
            f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "fails its check and is not used" in proc.stderr and "does not match its checksum" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "run" / "policy.zip").exists()
