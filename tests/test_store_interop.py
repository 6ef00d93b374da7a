"""Import and export: every array must survive a round trip bit for bit, in the space's dtype;
nothing from another toolkit's files may be unpickled or jsonpickle-decoded."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from irlkit.envs import env_spec_json, load_env_config, make_env, resolve_env_config
from irlkit.errors import StoreError
from irlkit.experts import RandomPolicy, record_policy_episodes
from irlkit.store import Dataset, DemoStore
from irlkit.store.interop import TargetEnv, export_dataset, import_dataset

try:
    import minari  # noqa: F401

    HAVE_MINARI = True
except ImportError:
    HAVE_MINARI = False
needs_minari = pytest.mark.skipif(
    not HAVE_MINARI, reason="minari is not installed (optional extra: pip install 'irlkit[minari]'); CI installs it"
)


def target(ref: str) -> TargetEnv:
    """The env an import is for, made by the caller as `python -m irlkit.demos import --env` does."""
    cfg = resolve_env_config(ref)
    env = make_env(cfg)
    try:
        return TargetEnv(cfg.id, env.observation_space, env.action_space, env_spec_json(env))
    finally:
        env.close()


ENVS = {"cartpole": 30, "pendulum": 25, "mountain_car_continuous": 20}


@pytest.fixture(scope="module", params=list(ENVS))
def source(request, tmp_path_factory):
    """A store dataset of real rollouts: Discrete (CartPole) and Box (Pendulum, MountainCarContinuous)
    actions, with infos on one episode and full provenance."""
    name = request.param
    cfg = dataclasses.replace(load_env_config(name), max_episode_steps=ENVS[name])
    env = make_env(cfg)
    episodes = record_policy_episodes(cfg, RandomPolicy(env.action_space, 3), 3, seed=7, progress=False)
    episodes[0].infos = [{"t": t, "tag": "x"} for t in range(len(episodes[0]))]
    episodes[1].meta = dataclasses.replace(episodes[1].meta, source="teleop", operator="op-77", device="keyboard")
    store = DemoStore(tmp_path_factory.mktemp(f"src_{name}"))
    ds = store.create(
        f"{name}_src",
        env_id=env.spec.id,
        observation_space=env.observation_space,
        action_space=env.action_space,
        env_spec=env_spec_json(env),
        description=f"{name} test data",
    )
    env.close()
    ds.append_episodes(episodes)
    return name, ds


def assert_same_arrays(a: Dataset, b: Dataset) -> None:
    assert len(a) == len(b)
    for x, y in zip(a.episodes(), b.episodes()):
        for field in ("obs", "acts", "rews"):
            u, v = np.asarray(getattr(x, field)), np.asarray(getattr(y, field))
            assert u.dtype == v.dtype, field
            assert u.shape == v.shape, field
            assert np.array_equal(u, v), field
        assert (x.terminated, x.truncated) == (y.terminated, y.truncated)


def test_imitation_round_trip(source, tmp_path):
    name, ds = source
    export_dataset(ds, "imitation", tmp_path / "hf")
    back = import_dataset(DemoStore(tmp_path / "store"), "imitation", tmp_path / "hf", "back", env=target(name))
    assert_same_arrays(ds, back)
    assert back.validate() == []
    ep0 = back.episode(0)
    assert ep0.infos == [{"t": t, "tag": "x"} for t in range(len(ep0))]
    m1 = back.metas[1]
    assert m1.source == "import" and str(tmp_path / "hf") in m1.notes
    assert (m1.operator, m1.device, m1.extra["original_source"]) == ("op-77", "keyboard", "teleop")
    assert m1.extra["original_episode_id"] == ds.metas[1].episode_id


def test_imitation_export_loads_in_imitation(source, tmp_path):
    from imitation.data import rollout, serialize

    _, ds = source
    export_dataset(ds, "imitation", tmp_path / "hf")
    trajs = serialize.load(tmp_path / "hf")
    ours = ds.to_transitions(terminal="terminated")
    theirs = rollout.flatten_trajectories(list(trajs))
    for field in ("obs", "acts", "next_obs", "dones"):
        np.testing.assert_array_equal(getattr(theirs, field).astype(getattr(ours, field).dtype), getattr(ours, field))
    assert [bool(t.terminal) for t in trajs] == [m.terminated for m in ds.metas]


def test_imitation_written_by_imitation(tmp_path):
    """A folder imitation itself wrote from its own rollouts (numpy infos, so jsonpickle tags)."""
    from imitation.data import rollout, serialize

    from irlkit.envs import make_venv

    cfg = load_env_config("cartpole")
    venv = make_venv(cfg, seed=0, n_envs=2)
    rng = np.random.default_rng(0)
    trajs = rollout.generate_trajectories(None, venv, rollout.make_sample_until(min_episodes=2), rng=rng)
    venv.close()
    serialize.save(tmp_path / "theirs", trajs)
    ds = import_dataset(
        DemoStore(tmp_path / "store"), "imitation", tmp_path / "theirs", "theirs", env=target("cartpole")
    )
    assert len(ds) == len(trajs)
    for t, ep in zip(trajs, ds.episodes()):
        np.testing.assert_array_equal(ep.obs, t.obs.astype(np.float32))
        np.testing.assert_array_equal(ep.acts, t.acts)
        np.testing.assert_array_equal(ep.rews, t.rews)
        assert ep.truncated == (not t.terminal)
        # RolloutInfoWrapper puts numpy arrays into infos: those need jsonpickle, so they are dropped
        assert ep.infos is None and "infos dropped" in ep.meta.notes


def test_imitation_import_never_decodes_jsonpickle(tmp_path):
    """infos that jsonpickle would turn into a function call are not decoded (imitation's own
    loader would run it)."""
    import datasets
    import jsonpickle

    marker = tmp_path / "pwned"
    payload = json.dumps({"py/reduce": [{"py/function": "builtins.open"}, {"py/tuple": [str(marker), "w"]}]})
    # Prove the payload is live: decoding it with jsonpickle creates the marker file.
    jsonpickle.decode(payload).close()
    assert marker.exists()
    marker.unlink()
    t = 4
    obs = np.zeros((t + 1, 4), dtype=np.float32).tolist()
    hf = datasets.Dataset.from_dict(
        {"obs": [obs], "acts": [[0, 1, 0, 1]], "infos": [[payload] * t], "terminal": [True], "rews": [[1.0] * t]}
    )
    hf.save_to_disk(str(tmp_path / "evil"))
    ds = import_dataset(DemoStore(tmp_path / "store"), "imitation", tmp_path / "evil", "evil", env=target("cartpole"))
    assert len(ds) == 1 and ds.episode(0).infos is None
    assert not marker.exists()


def test_legacy_imitation_npz(tmp_path):
    """imitation's pre-HuggingFace .npz: read with allow_pickle=False, same arrays as imitation's
    own loader returns."""
    from imitation.data import serialize

    cfg = dataclasses.replace(load_env_config("cartpole"), max_episode_steps=12)
    env = make_env(cfg)
    eps = record_policy_episodes(cfg, RandomPolicy(env.action_space, 0), 3, seed=0, progress=False)
    lengths = [len(e) for e in eps]
    infos = np.empty(sum(lengths), dtype=object)
    infos[:] = [{} for _ in range(sum(lengths))]
    np.savez(
        tmp_path / "legacy.npz",
        obs=np.concatenate([e.obs for e in eps]),
        acts=np.concatenate([e.acts for e in eps]),
        infos=infos,
        terminal=np.array([False, True, False]),
        rews=np.concatenate([e.rews for e in eps]),
        indices=np.cumsum(lengths)[:-1],
    )
    ds = import_dataset(DemoStore(tmp_path / "store"), "npz", tmp_path / "legacy.npz", "legacy", env=target("cartpole"))
    theirs = serialize.load(tmp_path / "legacy.npz")
    assert len(ds) == len(theirs) == 3
    for t, ep, orig in zip(theirs, ds.episodes(), eps):
        np.testing.assert_array_equal(ep.obs, t.obs)
        np.testing.assert_array_equal(ep.acts, t.acts)
        np.testing.assert_array_equal(ep.rews, orig.rews)
        assert ep.terminated == bool(t.terminal) and ep.truncated == (not t.terminal)
        assert "infos skipped" in ep.meta.notes


def test_sb3_expert_npz(tmp_path):
    """SB3-era expert files have no final observation: the last is repeated and flagged."""
    cfg = dataclasses.replace(load_env_config("cartpole"), id="CartPole-v1", name="cartpole_v1")
    env = make_env(cfg)
    eps = record_policy_episodes(cfg, RandomPolicy(env.action_space, 0), 4, seed=0, progress=False)
    np.savez(
        tmp_path / "expert_cartpole.npz",
        obs=np.concatenate([e.obs[:-1] for e in eps]),
        actions=np.concatenate([e.acts for e in eps]).reshape(-1, 1),
        rewards=np.concatenate([e.rews for e in eps]),
        episode_starts=np.concatenate([np.arange(len(e)) == 0 for e in eps]),
        episode_returns=np.array([e.episode_return for e in eps]),
    )
    ds = import_dataset(
        DemoStore(tmp_path / "store"), "npz", tmp_path / "expert_cartpole.npz", "sb3", env=target("CartPole-v1")
    )
    assert len(ds) == 4
    for orig, ep in zip(eps, ds.episodes()):
        np.testing.assert_array_equal(ep.obs[:-1], orig.obs[:-1])
        np.testing.assert_array_equal(ep.obs[-1], orig.obs[-2])
        np.testing.assert_array_equal(ep.acts, orig.acts)
        assert ep.meta.extra["final_obs_missing"] is True
        assert ep.meta.extra["stored_return"] == orig.episode_return
        assert ep.terminated  # random CartPole-v1 episodes fall well before the 500-step limit
    assert ds.validate() == []


def test_import_refuses_bad_sources(tmp_path):
    store = DemoStore(tmp_path / "store")
    np.savez(tmp_path / "odd.npz", foo=np.zeros(3))
    with pytest.raises(StoreError, match="neither imitation's legacy layout"):
        import_dataset(store, "npz", tmp_path / "odd.npz", "odd", env=target("cartpole"))
    np.savez(
        tmp_path / "sb3.npz",
        obs=np.zeros((4, 4), np.float32),
        actions=np.zeros((4, 1)),
        rewards=np.zeros(4),
        episode_starts=np.array([1, 0, 0, 0]),
    )
    with pytest.raises(StoreError, match="does not say which env"):
        import_dataset(store, "npz", tmp_path / "sb3.npz", "nenv")
    with pytest.raises(StoreError, match=r"field 'obs' rows have shape \(4,\).*Box\(3,\)"):
        import_dataset(store, "npz", tmp_path / "sb3.npz", "wrong", env=target("pendulum"))
    np.savez(
        tmp_path / "half.npz",
        obs=np.zeros((3, 4), np.float32),
        actions=np.full((3, 1), 0.5),
        rewards=np.zeros(3),
        episode_starts=np.array([1, 0, 0]),
    )
    with pytest.raises(StoreError, match="'acts' holds float64 values that do not fit"):
        import_dataset(store, "npz", tmp_path / "half.npz", "half", env=target("cartpole"))
    np.savez(
        tmp_path / "nan.npz",
        obs=np.full((3, 4), np.nan, np.float32),
        actions=np.zeros((3, 1)),
        rewards=np.zeros(3),
        episode_starts=np.array([1, 0, 0]),
    )
    with pytest.raises(StoreError, match="NaN or inf"):
        import_dataset(store, "npz", tmp_path / "nan.npz", "nan", env=target("cartpole"))
    assert store.names() == [] or all(n not in store.names() for n in ("odd", "nenv", "wrong", "half", "nan"))
    with pytest.raises(StoreError, match="no such file"):
        import_dataset(store, "imitation", tmp_path / "missing", "missing", env=target("cartpole"))
    with pytest.raises(StoreError, match="not an imitation dataset folder"):
        import_dataset(store, "imitation", tmp_path, "notone", env=target("cartpole"))


def test_export_refuses_to_overwrite(source, tmp_path):
    _, ds = source
    (tmp_path / "there").mkdir()
    with pytest.raises(StoreError, match="already exists"):
        export_dataset(ds, "imitation", tmp_path / "there")


@needs_minari
def test_minari_round_trip(source, tmp_path):
    name, ds = source
    export_dataset(ds, "minari", tmp_path / "mds")
    assert (tmp_path / "mds" / "data" / "main_data.hdf5").exists()
    back = import_dataset(DemoStore(tmp_path / "store"), "minari", tmp_path / "mds", "back")
    assert back.env_id == ds.env_id
    assert_same_arrays(ds, back)
    assert [m.seed for m in back.metas] == [m.seed for m in ds.metas]
    assert all(m.source == "import" for m in back.metas)
    # importing the data/ folder works too, and --env must agree with the dataset's spaces
    import_dataset(DemoStore(tmp_path / "store"), "minari", tmp_path / "mds" / "data", "back2", env=target(name))
    other = "pendulum" if name != "pendulum" else "cartpole"
    with pytest.raises(StoreError, match="pick the env the data was recorded on"):
        import_dataset(DemoStore(tmp_path / "store"), "minari", tmp_path / "mds", "back3", env=target(other))


@needs_minari
def test_minari_export_loads_in_minari(source, tmp_path, monkeypatch):
    """What we write is a Minari dataset minari finds by id and reads back unchanged."""
    import minari

    _, ds = source
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari_root"))
    dataset_id = f"{ds.name}-v0"
    export_dataset(ds, "minari", tmp_path / "minari_root" / dataset_id)
    mds = minari.load_dataset(dataset_id)
    assert mds.total_episodes == len(ds) and mds.total_steps == ds.num_steps
    for ep, theirs in zip(ds.episodes(), mds.iterate_episodes()):
        np.testing.assert_array_equal(theirs.observations, ep.obs)
        np.testing.assert_array_equal(theirs.actions, ep.acts)
        np.testing.assert_array_equal(theirs.rewards, ep.rews)
        assert bool(theirs.terminations[-1]) == ep.terminated and bool(theirs.truncations[-1]) == ep.truncated


@needs_minari
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_minari_import_of_minari_written_data(tmp_path, monkeypatch):
    """A dataset written by minari's own create_dataset_from_buffers, not by our exporter."""
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "root"))
    env = gym.make("Pendulum-v1")
    buffers = []
    for k in range(2):
        obs, _ = env.reset(seed=k)
        o, a, r = [obs], [], []
        for _ in range(15):
            act = env.action_space.sample()
            obs, rew, term, trunc, _ = env.step(act)
            o.append(obs), a.append(act), r.append(rew)
        buffers.append(
            EpisodeBuffer(
                id=k,
                seed=k,
                observations=np.array(o),
                actions=np.array(a),
                rewards=r,
                terminations=[False] * 15,
                truncations=[False] * 14 + [True],
            )
        )
    minari.create_dataset_from_buffers(
        "pendulum-test-v0", buffers, env="Pendulum-v1", algorithm_name="random", data_format="hdf5", jpeg_encoding=False
    )
    ds = import_dataset(DemoStore(tmp_path / "store"), "minari", tmp_path / "root" / "pendulum-test-v0", "pend")
    assert ds.env_id == "Pendulum-v1" and len(ds) == 2 and ds.metas[1].seed == 1
    for buf, ep in zip(buffers, ds.episodes()):
        np.testing.assert_array_equal(ep.obs, np.asarray(buf.observations, dtype=np.float32))
        np.testing.assert_array_equal(ep.acts, np.asarray(buf.actions, dtype=np.float32))
        assert ep.truncated and not ep.terminated


def test_minari_missing_gives_install_hint(tmp_path, monkeypatch, source):
    """Without minari the formats fail with a message saying what to install."""
    import builtins

    real_import = builtins.__import__

    def no_minari(name, *args, **kwargs):
        if name == "minari" or name.startswith("minari."):
            raise ImportError("No module named 'minari'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_minari)
    _, ds = source
    with pytest.raises(StoreError, match=r"pip install 'irlkit\[minari\]'"):
        export_dataset(ds, "minari", tmp_path / "m")
