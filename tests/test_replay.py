"""Replaying stored episodes: re-simulation from seed + actions, divergence warnings, videos, the entry."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from irlkit.envs import EnvConfig, load_env_config  # noqa: E402
from irlkit.errors import IrlkitError  # noqa: E402
from conftest import compose_config  # noqa: E402
from irlkit.store import DemoStore, Episode  # noqa: E402
from irlkit.teleop import Control, Recorder, RecorderConfig, ScriptedInput, Status  # noqa: E402
from irlkit.teleop.playback import ReplayDivergence, replay_video, replay_window, select_episodes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def env_config(name: str, **changes) -> EnvConfig:
    return dataclasses.replace(load_env_config(name), **changes)


def pump(obs: np.ndarray) -> np.ndarray:
    """Push in the direction of motion: the classic MountainCar energy-pumping script."""
    return np.array([1.0 if obs[1] >= 0 else -1.0], dtype=np.float32)


@pytest.fixture()
def recorded(tmp_path: Path):
    """Three MountainCarContinuous episodes recorded through the recorder, a script in the operator's seat."""
    cfg = RecorderConfig(
        env=env_config("mountain_car_continuous", max_episode_steps=25),
        dataset=str(tmp_path / "mcc"),
        operator="op-script",
        episodes=3,
        fps=30,
        realtime=False,
        source="script",
        seed=3,
    )
    summary = Recorder(cfg, device=ScriptedInput(pump, device="pump")).run()
    assert len(summary.kept) == 3
    return DemoStore(tmp_path).open(str(tmp_path / "mcc"))


def test_scripted_input_records_its_policy_with_provenance(recorded):
    for ep in recorded:
        assert ep.meta.source == "script" and ep.meta.device == "pump" and len(ep) == 25
        np.testing.assert_array_equal(ep.acts, np.stack([pump(o) for o in ep.obs[:-1]]))


def test_scripted_input_controls_end_episodes(tmp_path):
    """A stand-in for a person can end episodes itself (the seam a corrections loop uses)."""

    def keep_after_5(status: Status) -> list[Control]:
        return [Control.KEEP] if status.step == 5 else []

    device = ScriptedInput(lambda obs: 1, controls=keep_after_5)
    cfg = RecorderConfig(
        env=env_config("cartpole"),
        dataset=str(tmp_path / "c"),
        operator="op-1",
        episodes=2,
        realtime=False,
        source="correction",
    )
    Recorder(cfg, device=device).run()
    ds = DemoStore(tmp_path).open(str(tmp_path / "c"))
    assert [len(ep) for ep in ds] == [5, 5] and all(ep.meta.source == "correction" for ep in ds)


def test_window_replay_matches_the_stored_observations(recorded):
    import warnings

    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReplayDivergence)
        results = replay_window(
            recorded, select_episodes(recorded, None), realtime=False, on_frame=lambda k, n: seen.append(k)
        )
    assert [r.index for r in results] == [0, 1, 2]
    assert all(r.diverged_at is None and r.frames == 26 and r.max_abs_diff == 0.0 for r in results)
    assert sorted(set(seen)) == [0, 1, 2]


def test_replay_warns_where_stored_observations_diverge(recorded, tmp_path):
    ep = recorded.episode(1)
    obs = np.array(ep.obs)
    obs[7:, 0] += 0.01  # as if the env's dynamics had changed from step 7 on
    copy = DemoStore(tmp_path).create(
        "tampered",
        env_id=recorded.env_id,
        observation_space=recorded.observation_space,
        action_space=recorded.action_space,
        env_spec=recorded.env_spec,
    )
    copy.append_episode(
        Episode(
            obs=obs,
            acts=np.array(ep.acts),
            rews=np.array(ep.rews),
            truncated=True,
            meta=dataclasses.replace(ep.meta, episode_id=""),
        )
    )
    with pytest.warns(ReplayDivergence, match="step 7 differs from the stored one by 0.01"):
        results = replay_window(copy, [0], realtime=False)
    assert results[0].diverged_at == 7


def test_replay_needs_a_seed(recorded, tmp_path):
    ep = recorded.episode(0)
    copy = DemoStore(tmp_path).create(
        "noseed",
        env_id=recorded.env_id,
        observation_space=recorded.observation_space,
        action_space=recorded.action_space,
        env_spec=recorded.env_spec,
    )
    copy.append_episode(
        Episode(
            obs=np.array(ep.obs),
            acts=np.array(ep.acts),
            rews=np.array(ep.rews),
            meta=dataclasses.replace(ep.meta, seed=None, episode_id=""),
        )
    )
    with pytest.raises(IrlkitError, match="no stored seed"):
        replay_window(copy, [0], realtime=False)
    with pytest.raises(IrlkitError, match="has episodes 0..0"):
        select_episodes(copy, 3)


def test_replay_to_gif_and_mp4(recorded, tmp_path):
    iio = pytest.importorskip("imageio.v2", reason="video output needs the video extra: pip install 'irlkit[video]'")
    gif = tmp_path / "clips" / "ep.gif"
    replay_video(recorded, [0, 2], gif)
    reader = iio.get_reader(gif)
    assert reader.get_length() == 2 * 26
    assert reader.get_data(0).shape[:2] == (400, 600)

    pytest.importorskip("imageio_ffmpeg", reason="mp4 output needs imageio-ffmpeg: pip install 'irlkit[video]'")
    mp4 = tmp_path / "ep.mp4"
    replay_video(recorded, [1], mp4)
    reader = iio.get_reader(mp4)
    assert reader.count_frames() == 26 and reader.get_meta_data()["fps"] == 30
    with pytest.raises(IrlkitError, match=r"\.mp4 or \.gif"):
        replay_video(recorded, [1], tmp_path / "ep.avi")


def test_replay_entry(recorded, tmp_path, capsys):
    import irlkit.replay.__main__ as entry

    cfg = compose_config("replay", overrides=["episode=-1", "fps=1000"])
    cfg.demos = str(recorded.path)
    results = entry.run_replay(cfg)
    assert [r.index for r in results] == [2]
    assert "Replayed 1 episode(s) of mcc: 1 matched" in capsys.readouterr().out

    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-m", "irlkit.replay", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0 and "python -m irlkit.replay demos=<dataset> [episode=K] [video=FILE]" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "irlkit.replay"], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 2 and "demos= is required" in out.stderr
