"""The demos store's promises: exact round trips, selection, imitation types, crash safety under
SIGKILL, concurrent writers, and a clear refusal for every kind of bad input."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from irlkit.envs import load_env_config, make_env
from irlkit.errors import SchemaVersionError, StoreError
from irlkit.experts import RandomPolicy, record_policy_episodes
from irlkit.store import (
    SCHEMA_VERSION,
    Dataset,
    DemoStore,
    Episode,
    EpisodeMeta,
    check_name,
    check_operator,
    pseudonym,
)

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------------
# fixtures: real env spaces and real rollouts, no stand-ins
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cartpole_env():
    env = make_env(load_env_config("cartpole"))
    yield env
    env.close()


@pytest.fixture(scope="module")
def pendulum_env():
    env = make_env(load_env_config("pendulum"))
    yield env
    env.close()


@pytest.fixture(scope="module")
def cartpole_episodes(cartpole_env):
    cfg = dataclasses.replace(load_env_config("cartpole"), max_episode_steps=40)
    return record_policy_episodes(cfg, RandomPolicy(cartpole_env.action_space, 0), 4, seed=0, progress=False)


@pytest.fixture(scope="module")
def pendulum_episodes(pendulum_env):
    cfg = dataclasses.replace(load_env_config("pendulum"), max_episode_steps=30)
    return record_policy_episodes(cfg, RandomPolicy(pendulum_env.action_space, 0), 3, seed=0, progress=False)


def _create(store: DemoStore, name: str, env) -> Dataset:
    return store.create(
        name, env_id=env.spec.id, observation_space=env.observation_space, action_space=env.action_space
    )


def _episode(obs, acts, rews, **meta) -> Episode:
    return Episode(
        obs=np.asarray(obs),
        acts=np.asarray(acts),
        rews=np.asarray(rews, dtype=np.float64),
        truncated=True,
        meta=EpisodeMeta(**meta),
    )


# ------------------------------------------------------------------------------------------------
# round trips and metadata
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["cartpole", "pendulum"])
def test_round_trip_is_exact(tmp_path, which, request):
    env = request.getfixturevalue(f"{which}_env")
    episodes = request.getfixturevalue(f"{which}_episodes")
    ds = _create(DemoStore(tmp_path), "rt", env)
    ids = ds.append_episodes(episodes)
    again = Dataset.open(tmp_path / "rt", verify=True)
    assert [m.episode_id for m in again.metas] == ids
    for orig, back in zip(episodes, again.episodes()):
        assert back.obs.dtype == env.observation_space.dtype
        np.testing.assert_array_equal(back.obs, orig.obs)
        np.testing.assert_array_equal(back.acts.reshape(orig.acts.shape), orig.acts)
        np.testing.assert_array_equal(back.rews, orig.rews)
        assert (back.terminated, back.truncated) == (orig.terminated, orig.truncated)
        assert back.meta.seed == orig.meta.seed and back.meta.source == "policy"
        assert back.meta.length == len(orig) and back.meta.episode_return == pytest.approx(orig.episode_return)
    assert again.validate() == []


def test_terminated_and_truncated_stay_apart(tmp_path, cartpole_env):
    # A falling pole in plain CartPole-v1 terminates; seals' fixed-horizon CartPole truncates.
    cfg = dataclasses.replace(load_env_config("cartpole"), id="CartPole-v1", name="cartpole_v1")
    episodes = record_policy_episodes(cfg, RandomPolicy(cartpole_env.action_space, 1), 2, seed=0, progress=False)
    ds = _create(DemoStore(tmp_path), "tt", cartpole_env)
    ds.append_episodes(episodes)
    fixed = dataclasses.replace(load_env_config("cartpole"), max_episode_steps=20)
    ds.append_episodes(
        record_policy_episodes(fixed, RandomPolicy(cartpole_env.action_space, 1), 1, seed=5, progress=False)
    )
    ends = [(m.terminated, m.truncated) for m in Dataset.open(ds.path).metas]
    assert ends == [(True, False), (True, False), (False, True)]
    # imitation's view: "done" marks all three terminal, "terminated" only the real terminations.
    assert [t.terminal for t in ds.to_trajectories()] == [True, True, True]
    assert [t.terminal for t in ds.to_trajectories(terminal="terminated")] == [True, True, False]


def test_infos_and_metadata_round_trip(tmp_path, cartpole_env, cartpole_episodes):
    ep = dataclasses.replace(
        cartpole_episodes[0], infos=[{"step": i, "note": "ok"} for i in range(len(cartpole_episodes[0]))]
    )
    ep.meta = EpisodeMeta(
        source="teleop", operator="op-ab12", device="keyboard", fps=30.0, notes="first try", extra={"dropped_frames": 2}
    )
    ds = _create(DemoStore(tmp_path), "meta", cartpole_env)
    ds.append_episode(ep)
    back = Dataset.open(ds.path).episode(0)
    assert back.infos == ep.infos
    assert (back.meta.operator, back.meta.device, back.meta.fps, back.meta.notes) == (
        "op-ab12",
        "keyboard",
        30.0,
        "first try",
    )
    assert back.meta.extra == {"dropped_frames": 2} and back.meta.irlkit_version


def test_select_by_metadata(tmp_path, cartpole_env, cartpole_episodes):
    ds = _create(DemoStore(tmp_path), "sel", cartpole_env)
    for k, ep in enumerate(cartpole_episodes):
        ep = dataclasses.replace(
            ep, meta=EpisodeMeta(source="teleop" if k % 2 else "policy", operator="alice" if k < 2 else "bob")
        )
        ds.append_episode(ep)
    returns = [ep.episode_return for ep in cartpole_episodes]
    assert len(ds.select(source="teleop")) == 2
    assert [m.operator for m in ds.select(operator="bob").metas] == ["bob", "bob"]
    assert len(ds.select(operator=["alice", "bob"], source="policy")) == 2
    cut = sorted(returns)[2]
    assert sorted(m.episode_return for m in ds.select(min_return=cut).metas) == sorted(r for r in returns if r >= cut)
    assert len(ds.select(where=lambda m: m.operator == "alice").select(source="teleop")) == 1


def test_discarded_episodes_are_skipped_unless_asked(tmp_path, cartpole_env, cartpole_episodes):
    ds = _create(DemoStore(tmp_path), "disc", cartpole_env)
    ds.append_episode(cartpole_episodes[0])
    ds.append_episode(dataclasses.replace(cartpole_episodes[1], meta=EpisodeMeta(discarded=True)))
    assert len(ds) == 1 and len(ds.select(include_discarded=True)) == 2


def test_imitation_types_match_the_episodes(tmp_path, cartpole_env, cartpole_episodes):
    from imitation.data import rollout
    from imitation.data.types import TrajectoryWithRew, Transitions

    ds = _create(DemoStore(tmp_path), "imi", cartpole_env)
    ds.append_episodes(cartpole_episodes[:2])
    ds.append_episodes(cartpole_episodes[2:])  # two segments
    trajs = ds.to_trajectories()
    assert all(isinstance(t, TrajectoryWithRew) for t in trajs)
    expected = rollout.flatten_trajectories(trajs)
    got = ds.to_transitions()
    assert isinstance(got, Transitions)
    for field in ("obs", "acts", "next_obs", "dones"):
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field))
    # not copied: the trajectories of one segment are read-only views of one column
    assert trajs[0].obs.base is trajs[1].obs.base and not trajs[0].obs.flags.writeable
    sub = ds.select(min_return=sorted(e.episode_return for e in cartpole_episodes)[-1])
    assert len(sub.to_transitions()) == sum(m.length for m in sub.metas)


def test_large_columns_are_memory_mapped(tmp_path, cartpole_env):
    t = 40_000  # columns of 320 KB and more: above the size under which columns are read instead
    rng = np.random.default_rng(0)
    ds = _create(DemoStore(tmp_path), "big", cartpole_env)
    ds.append_episode(_episode(rng.uniform(-1, 1, (t + 1, 4)).astype(np.float32), rng.integers(0, 2, t), np.ones(t)))
    ep = Dataset.open(ds.path).episode(0)
    assert isinstance(ep.obs, np.memmap) and not ep.obs.flags.writeable
    tr = Dataset.open(ds.path).to_transitions()
    assert isinstance(tr.acts, np.memmap)  # a whole segment's actions are handed over as they lie on disk


def test_compact_keeps_every_episode_once(tmp_path, cartpole_env, cartpole_episodes):
    ds = _create(DemoStore(tmp_path), "cmp", cartpole_env)
    for ep in cartpole_episodes:
        ds.append_episode(ep)
    before = [(m.episode_id, m.episode_return) for m in ds.metas]
    reader = Dataset.open(ds.path)  # opened before compaction
    assert ds.compact() == len(cartpole_episodes)
    assert [(m.episode_id, m.episode_return) for m in Dataset.open(ds.path).metas] == before
    assert len(list((ds.path / "segments").iterdir())) == 1
    reader.refresh()
    assert len(reader) == len(before)
    assert Dataset.open(ds.path).validate() == []


def test_a_compaction_killed_before_cleanup_never_brings_episodes_back(tmp_path, cartpole_env, cartpole_episodes):
    ds = _create(DemoStore(tmp_path), "cmp", cartpole_env)
    for ep in cartpole_episodes:
        ds.append_episode(ep)
    before = sorted(m.episode_id for m in ds.metas)
    old = sorted(p.name for p in (ds.path / "segments").iterdir())
    ds.write_segment(list(ds.episodes()), replaces=old)  # a compaction killed before removing `old`
    assert sorted(m.episode_id for m in Dataset.open(ds.path).metas) == before
    assert ds.compact() == len(old) + 1  # the hidden folders are replaced and removed too
    assert sorted(m.episode_id for m in Dataset.open(ds.path).metas) == before
    assert len(list((ds.path / "segments").iterdir())) == 1
    ds.append_episode(dataclasses.replace(cartpole_episodes[0], meta=EpisodeMeta(source="policy")))
    assert ds.compact() == 2 and len(Dataset.open(ds.path)) == len(before) + 1


def test_operator_pseudonyms():
    assert pseudonym("alice@example.org", "salt") == pseudonym("alice@example.org", "salt")
    assert pseudonym("alice@example.org", "salt") != pseudonym("alice@example.org", "pepper")
    assert "alice" not in pseudonym("alice@example.org", "salt")
    assert check_operator("op-1a2b") == "op-1a2b"
    for bad in ("Alice Smith", "alice@example.org", "", "x" * 80):
        with pytest.raises(StoreError, match="pseudonym"):
            check_operator(bad)


# ------------------------------------------------------------------------------------------------
# bad inputs: each refused with a message naming the episode and field
# ------------------------------------------------------------------------------------------------
def _cartpole_ep(t=5):
    obs = np.zeros((t + 1, 4), dtype=np.float32)
    return obs, np.zeros(t, dtype=np.int64), np.ones(t)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda o, a, r: (o[:-1], a, r), "field 'obs' has 5 rows but 'acts' has 5"),
        (lambda o, a, r: (o, a, r[:-1]), "field 'rews' has shape"),
        (lambda o, a, r: (o, a[:0], r[:0]), "no actions"),
        (
            lambda o, a, r: (np.where(np.arange(6)[:, None] == 3, np.nan, o).astype(np.float32), a, r),
            "field 'obs' has NaN or inf at step 3",
        ),
        (lambda o, a, r: (o, a, np.where(np.arange(5) == 2, np.inf, r)), "field 'rews' has NaN or inf at step 2"),
        (
            lambda o, a, r: (o, np.where(np.arange(5) == 4, 2, a), r),
            "field 'acts' at step 4 .* outside the space Discrete",
        ),
        (lambda o, a, r: (o[:, :3], a, r), "field 'obs' rows have shape"),
    ],
)
def test_bad_episodes_are_refused(tmp_path, cartpole_env, mutate, match):
    ds = _create(DemoStore(tmp_path), "bad", cartpole_env)
    obs, acts, rews = mutate(*_cartpole_ep())
    with pytest.raises(StoreError, match=match) as info:
        ds.append_episode(_episode(obs, acts, rews))
    assert "new episode 0" in str(info.value) or "no actions" in str(info.value)
    assert len(Dataset.open(ds.path)) == 0


def test_out_of_space_observation_is_refused(tmp_path):
    env = make_env(load_env_config("mountain_car"))
    ds = _create(DemoStore(tmp_path), "mc", env)
    obs = np.zeros((4, 2), dtype=np.float32)
    obs[2, 0] = 2.0  # position beyond 0.6
    with pytest.raises(StoreError, match=r"field 'obs' at step 2 is \[2.0, 0.0\], outside the space Box"):
        ds.append_episode(_episode(obs, np.zeros(3, dtype=np.int64), np.zeros(3)))
    act = np.zeros((2, 1), dtype=np.float32)
    pend = make_env(load_env_config("pendulum"))
    pds = _create(DemoStore(tmp_path), "pend", pend)
    with pytest.raises(StoreError, match="field 'acts' at step 1"):
        pds.append_episode(_episode(np.zeros((3, 3), dtype=np.float32), act + [[0.0], [2.5]], np.zeros(2)))


def test_bad_metadata_is_refused(tmp_path, cartpole_env):
    ds = _create(DemoStore(tmp_path), "badmeta", cartpole_env)
    with pytest.raises(StoreError, match="source 'human'"):
        ds.append_episode(_episode(*_cartpole_ep(), source="human"))
    with pytest.raises(StoreError, match="not a plain pseudonym"):
        ds.append_episode(_episode(*_cartpole_ep(), operator="Jane Doe"))
    ep = _episode(*_cartpole_ep())
    ep.infos = [{"obj": object()}] * 5
    with pytest.raises(StoreError, match="infos is not JSON-safe"):
        ds.append_episode(ep)


def test_spaces_differing_from_the_env_are_refused(tmp_path, cartpole_env, pendulum_env):
    ds = _create(DemoStore(tmp_path), "cp", cartpole_env)
    with pytest.raises(StoreError, match=r"observation space Box\(4,\) float32, but env 'Pendulum-v1' has Box\(3,\)"):
        ds.check_spaces(pendulum_env.observation_space, pendulum_env.action_space, env_id="Pendulum-v1")
    ds.check_spaces(cartpole_env.observation_space, cartpole_env.action_space)
    with pytest.raises(StoreError, match="action space Discrete"):
        ds.check_spaces(cartpole_env.observation_space, spaces.Discrete(3))
    wider = spaces.Box(low=-2 * cartpole_env.observation_space.high, high=2 * cartpole_env.observation_space.high)
    with pytest.raises(
        StoreError, match=r"float32 with low \[.*-3\.142.*but the env has Box\(4,\) float32 with low \[.*-6\.283"
    ):
        ds.check_spaces(wider, cartpole_env.action_space)  # same shape and dtype: the message names the bounds
    with pytest.raises(StoreError, match="has observation space"):
        DemoStore(tmp_path).create(
            "cp",
            env_id="Pendulum-v1",
            observation_space=pendulum_env.observation_space,
            action_space=pendulum_env.action_space,
            exist_ok=True,
        )


def test_truncated_file_is_detected(tmp_path, cartpole_env, cartpole_episodes):
    ds = _create(DemoStore(tmp_path), "trunc", cartpole_env)
    ds.append_episodes(cartpole_episodes)
    seg = next((ds.path / "segments").iterdir())
    data = (seg / "obs.npy").read_bytes()
    (seg / "obs.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match=r"file obs.npy has \d+ bytes, expected \d+; it was truncated"):
        Dataset.open(ds.path)


def test_tampered_file_is_detected(tmp_path, cartpole_env, cartpole_episodes):
    ds = _create(DemoStore(tmp_path), "tamper", cartpole_env)
    ds.append_episodes(cartpole_episodes)
    seg = next((ds.path / "segments").iterdir())
    rews = np.load(seg / "rews.npy")
    rews[3] += 100.0  # same size, different content
    np.save(seg / "rews.npy", rews)
    Dataset.open(ds.path)  # size still matches: cheap open succeeds
    with pytest.raises(StoreError, match="file rews.npy does not match its checksum"):
        Dataset.open(ds.path, verify=True)
    problems = Dataset.open(ds.path).validate()
    assert len(problems) == 1 and "rews.npy does not match its checksum" in problems[0]


def test_pickled_arrays_are_never_loaded(tmp_path, cartpole_env, cartpole_episodes):
    """A segment whose .npy holds Python objects (which np.load would unpickle) is refused."""
    ds = _create(DemoStore(tmp_path), "pickle", cartpole_env)
    ds.append_episodes(cartpole_episodes[:1])
    seg = next((ds.path / "segments").iterdir())
    marker = tmp_path / "executed"
    evil = np.array([_Exploit(str(marker))] * len(cartpole_episodes[0]), dtype=object)
    np.save(seg / "acts.npy", evil, allow_pickle=True)
    header = json.loads((seg / "segment.json").read_text())
    header["files"]["acts.npy"]["bytes"] = (seg / "acts.npy").stat().st_size
    (seg / "segment.json").write_text(json.dumps(header))
    reopened = Dataset.open(ds.path)
    with pytest.raises(StoreError, match="acts.npy cannot be read"):
        reopened.episode(0)
    assert not marker.exists()


class _Exploit:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_empty_dataset(tmp_path, cartpole_env):
    ds = _create(DemoStore(tmp_path), "empty", cartpole_env)
    assert ds.validate() == ["dataset 'empty' is empty: it holds no episodes"]
    with pytest.raises(StoreError, match="has no episodes"):
        ds.to_transitions()
    with pytest.raises(StoreError, match="matching the selection"):
        ds.select(operator="nobody").to_trajectories()


def test_newer_schema_is_refused(tmp_path, cartpole_env, cartpole_episodes):
    ds = _create(DemoStore(tmp_path), "newer", cartpole_env)
    ds.append_episodes(cartpole_episodes[:1])
    info = json.loads((ds.path / "dataset.json").read_text())
    info["schema_version"] = SCHEMA_VERSION + 1
    (ds.path / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}.*Upgrade irlkit"):
        Dataset.open(ds.path)
    info["schema_version"] = SCHEMA_VERSION
    (ds.path / "dataset.json").write_text(json.dumps(info))
    seg = next((ds.path / "segments").iterdir())
    header = json.loads((seg / "segment.json").read_text())
    header["schema_version"] = SCHEMA_VERSION + 1
    (seg / "segment.json").write_text(json.dumps(header))
    with pytest.raises(SchemaVersionError, match="segment .* schema version"):
        Dataset.open(ds.path)


def test_damaged_metadata_is_reported(tmp_path, cartpole_env):
    ds = _create(DemoStore(tmp_path), "damaged", cartpole_env)
    (ds.path / "dataset.json").write_text('{"schema_version": 1, "env_id": ')
    with pytest.raises(StoreError, match="not valid JSON"):
        Dataset.open(ds.path)


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ".hidden", "/abs", "a\\b", "", "x" * 200, "has space"])
def test_names_escaping_the_root_are_refused(tmp_path, name):
    with pytest.raises(StoreError, match="not a plain name"):
        check_name(name)


def test_unknown_dataset_names_the_known_ones(tmp_path, cartpole_env):
    store = DemoStore(tmp_path)
    _create(store, "mine", cartpole_env)
    with pytest.raises(StoreError, match=r"no dataset named 'nope' .*mine"):
        store.open("nope")


def test_another_process_half_created_or_removed_dataset_is_not_listed(tmp_path, cartpole_env):
    import shutil

    store = DemoStore(tmp_path)
    made = _create(store, "mine", cartpole_env)
    for leftover in (".mine.removing-123", ".other.creating-ab12"):  # what a killed rm / create leaves
        shutil.copytree(made.path, tmp_path / leftover)
    assert "mine" in store.names() and not any(n.startswith(".") for n in store.names())


# ------------------------------------------------------------------------------------------------
# crash safety and concurrency, with real processes
# ------------------------------------------------------------------------------------------------
_APPENDER = textwrap.dedent(
    """
    import sys, numpy as np
    from irlkit.store import Dataset, Episode, EpisodeMeta
    ds = Dataset.open(sys.argv[1])
    tag, n = sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(abs(hash(tag)) % 2**32)
    for k in range(n):
        t = int(rng.integers(50, 400))
        obs = rng.uniform(-1, 1, size=(t + 1, 4)).astype(np.float32)
        ep = Episode(obs=obs, acts=rng.integers(0, 2, size=t), rews=np.full(t, float(k)), truncated=True,
                     meta=EpisodeMeta(source="script", notes=f"{tag}-{k}"))
        ds.append_episode(ep)
        print(f"{tag}-{k}", flush=True)
    """
)


def _spawn(path: Path, tag: str, n: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _APPENDER, str(path), tag, str(n)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )


@pytest.mark.slow
def test_sigkill_mid_append_leaves_a_valid_dataset(tmp_path, cartpole_env):
    """Kill a writer at random points while it appends in a loop; every episode it reported
    committed must be there, nothing half-written may be read, and appending must go on."""
    ds = _create(DemoStore(tmp_path), "crash", cartpole_env)
    rng = np.random.default_rng(0)
    reported: list[str] = []
    for round_ in range(5):
        proc = _spawn(ds.path, f"r{round_}", 10_000)
        # wait for the first commit (imports take a while), then kill at a random moment
        first = proc.stdout.readline().strip()
        time.sleep(float(rng.uniform(0.0, 0.3)))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        reported += [first] + out.split()
        reopened = Dataset.open(ds.path, verify=True)
        notes = [m.notes for m in reopened.metas]
        assert set(reported) <= set(notes), f"round {round_}: committed episodes lost"
        assert len(notes) == len(set(notes)), "an episode was read twice"
        assert reopened.validate() == []
    assert len(reported) > 5
    # a later writer is unaffected by the leftovers in .tmp/
    ds.refresh()
    before = len(ds)
    ds.append_episode(_episode(*_cartpole_ep()))
    assert len(Dataset.open(ds.path)) == before + 1


def test_concurrent_appenders(tmp_path, cartpole_env):
    ds = _create(DemoStore(tmp_path), "conc", cartpole_env)
    procs = [_spawn(ds.path, f"w{i}", 15) for i in range(3)]
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
    final = Dataset.open(ds.path, verify=True)
    assert sorted(m.notes for m in final.metas) == sorted(f"w{i}-{k}" for i in range(3) for k in range(15))
    assert len({m.episode_id for m in final.metas}) == 45
    assert final.validate() == []
    # each writer's own episodes stay in its commit order
    for i in range(3):
        assert [m.notes for m in final.metas if m.notes.startswith(f"w{i}-")] == [f"w{i}-{k}" for k in range(15)]


def test_concurrent_create_with_exist_ok(tmp_path, cartpole_env):
    code = textwrap.dedent(
        """
        import sys
        from irlkit.envs import load_env_config, make_env
        from irlkit.store import DemoStore
        env = make_env(load_env_config("cartpole"))
        DemoStore(sys.argv[1]).create("same", env_id="seals/CartPole-v0", observation_space=env.observation_space,
                                      action_space=env.action_space, exist_ok=True)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO) for _ in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert DemoStore(tmp_path).names() == ["same"] or "same" in DemoStore(tmp_path).names()
    assert [p.name for p in tmp_path.iterdir()] == ["same"]
