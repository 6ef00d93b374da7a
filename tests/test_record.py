"""The teleop recorder, driven headless through its real event loop with injected pygame events.

Events are posted from the recorder's `on_frame` hook, which runs at the start of every frame before
the frame's events are read: an event posted when the episode is at step s decides action s. Key
state then flows exactly as from a person: pygame queue -> KeyboardInput -> key map -> env.step.
"""

from __future__ import annotations

import dataclasses
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Optional

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from conftest import compose_config  # noqa: E402
from irlkit.envs import EnvConfig, load_env_config, make_env  # noqa: E402
from irlkit.errors import IrlkitError  # noqa: E402
from irlkit.store import DemoStore  # noqa: E402
from irlkit.teleop import (  # noqa: E402
    ContinuousKeyMap,
    DiscreteKeyMap,
    GamepadInput,
    Recorder,
    RecorderConfig,
    RecorderState,
    Status,
    parse_keymap,
)

REPO = Path(__file__).resolve().parent.parent
FPS = 200.0  # fast, but still the real fixed-rate loop with sleeping between frames


def env_config(name: str, **changes: Any) -> EnvConfig:
    """An env config exactly as shipped in conf/env/<name>.yaml (key map included)."""
    return dataclasses.replace(load_env_config(name), **changes)


def post(kind: int, key: int) -> None:
    pygame.event.post(pygame.event.Event(kind, key=key))


class Driver:
    """Plays a person: Space whenever an episode waits, and planned events at (attempt, step).

    Attempts count episode starts (a re-recorded episode is a new attempt); `plan[(attempt, step)]`
    lists callables run once, when attempt `attempt` is recording and about to take step `step`.
    A pause is resumed with Space after `resume_after` paused frames.
    """

    def __init__(
        self,
        plan: Optional[dict[tuple[int, int], list[Callable[[], None]]]] = None,
        start: bool = True,
        resume_after: int = 5,
    ):
        self.plan = {k: list(v) for k, v in (plan or {}).items()}
        self.start = start
        self.resume_after = resume_after
        self.attempt = -1
        self.paused_frames = 0
        self.states: list[RecorderState] = []
        self.waiting_frames = 0

    def __call__(self, status: Status) -> None:
        self.states.append(status.state)
        if status.state is RecorderState.WAITING:
            self.waiting_frames += 1
            if self.start:
                post(pygame.KEYDOWN, pygame.K_SPACE)
                post(pygame.KEYUP, pygame.K_SPACE)
                self.attempt += 1  # Space starts the next attempt in this very frame, which takes step 0
                for action in self.plan.pop((self.attempt, 0), []):
                    action()
            return
        if status.state is RecorderState.PAUSED:
            self.paused_frames += 1
            if self.paused_frames % self.resume_after == 0:
                post(pygame.KEYDOWN, pygame.K_SPACE)
            return
        for action in self.plan.pop((self.attempt, status.step), []):
            action()


def down(key: int) -> Callable[[], None]:
    return lambda: post(pygame.KEYDOWN, key)


def up(key: int) -> Callable[[], None]:
    return lambda: post(pygame.KEYUP, key)


def record(tmp_path: Path, env: EnvConfig, driver: Driver, **changes: Any):
    cfg = RecorderConfig(env=env, dataset=str(tmp_path / "demos"), operator="op-test", fps=FPS, seed=7, **changes)
    summary = Recorder(cfg, on_frame=driver).run()
    return summary, DemoStore(tmp_path).open(str(tmp_path / "demos"))


# ---- key maps -------------------------------------------------------------------------------
def test_shipped_key_maps_parse_for_every_env_that_has_one():
    spaces = {
        "cartpole": gym.spaces.Discrete(2),
        "mountain_car": gym.spaces.Discrete(3),
        "lunar_lander": gym.spaces.Discrete(4),
        "mountain_car_continuous": gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
        "pendulum": gym.spaces.Box(-2.0, 2.0, (1,), np.float32),
    }
    for name, space in spaces.items():
        keymap = parse_keymap(env_config(name).teleop, space, env_name=name)
        assert isinstance(keymap, DiscreteKeyMap if isinstance(space, gym.spaces.Discrete) else ContinuousKeyMap)
    mc = parse_keymap(env_config("mountain_car").teleop, spaces["mountain_car"], env_name="mountain_car")
    assert mc.action([]) == 1 and mc.action([pygame.K_LEFT]) == 0 and mc.action([pygame.K_RIGHT]) == 2


@pytest.mark.parametrize(
    "teleop, space, message",
    [
        (
            {},
            gym.spaces.Discrete(12),
            "(?s)no key map for teleoperation.*conf/env/toy.yaml.*actions: {left: 0, right: 1}",
        ),
        ({}, gym.spaces.Box(-1, 1, (3,)), "(?s)no key map for teleoperation.*axes:"),
        ({"actions": {"left": 0}}, gym.spaces.Discrete(2), "`default` is missing"),
        ({"actions": {"leftt": 0}, "default": 0}, gym.spaces.Discrete(2), "unknown key name 'leftt'"),
        ({"actions": {"space": 1}, "default": 0}, gym.spaces.Discrete(2), "controls the recording"),
        (
            {"actions": {"left": 5}, "default": 0},
            gym.spaces.Discrete(2),
            r"actions.left is 5, outside the env's actions 0..1",
        ),
        ({"actions": {"left": 0}, "default": 0, "speed": 3}, gym.spaces.Discrete(2), r"unknown entries \['speed'\]"),
        ({"axes": []}, gym.spaces.Box(-1, 1, (2,)), "one entry per action dimension"),
        ({"axes": [{"negative": "left"}]}, gym.spaces.Box(-1, 1, (1,)), "positive key missing"),
        (
            {"axes": [{"negative": "left", "positive": "right", "size": 3}]},
            gym.spaces.Box(-1, 1, (1,)),
            "exceeds the action bounds",
        ),
        ({"actions": {"left": 0}, "default": 0}, gym.spaces.MultiBinary(3), "cannot be driven by keys"),
    ],
)
def test_key_map_errors_name_what_is_wrong(teleop, space, message):
    with pytest.raises(IrlkitError, match=message):
        parse_keymap(teleop, space, env_name="toy")


@pytest.mark.filterwarnings("ignore:.*render_mode:UserWarning")
def test_env_without_frames_is_refused_before_a_window_opens(tmp_path):
    # Without a key map CartPole gets the default one for Discrete(2) (left 0, right 1, none 0); an action
    # space without a default is refused by name (test_key_map_errors_name_what_is_wrong).
    rec = Recorder(RecorderConfig(env=env_config("cartpole", teleop={}), dataset=str(tmp_path / "d"), operator="op-1"))
    keymap = rec.device.keymap
    rec.env.close()
    assert keymap.action([pygame.K_RIGHT]) == 1 and keymap.action([pygame.K_LEFT]) == 0 and keymap.action([]) == 0
    with pytest.raises(IrlkitError, match=r"cannot render frames.*rgb_array"):
        Recorder(RecorderConfig(env=env_config("cliff_world"), dataset=str(tmp_path / "d"), operator="op-1"))
    with pytest.raises(IrlkitError, match="not a plain pseudonym"):
        Recorder(RecorderConfig(env=env_config("cartpole"), dataset=str(tmp_path / "d"), operator="Jane Doe"))


# ---- recording through the real loop ----------------------------------------------------------
def test_cartpole_stored_actions_follow_the_keys_held(tmp_path):
    L, R = pygame.K_LEFT, pygame.K_RIGHT
    plan = {
        (0, 5): [down(R)],
        (0, 12): [down(L)],  # both held: the latest key wins
        (0, 16): [up(L)],  # back to right, still held
        (0, 20): [up(R)],  # nothing held: CartPole's default, push left
        (1, 0): [down(R)],
        (1, 10): [up(R)],
    }
    driver = Driver(plan)
    summary, ds = record(tmp_path, env_config("cartpole", max_episode_steps=30), driver, episodes=2)

    assert summary.stopped_by == "done" and len(summary.kept) == 2 and not driver.plan and summary.lost_steps == 0
    assert len(ds) == 2 and ds.validate() == []
    ep0, ep1 = ds.episode(0), ds.episode(1)
    assert ep0.acts.tolist() == [0] * 5 + [1] * 7 + [0] * 4 + [1] * 4 + [0] * 10
    assert ep1.acts.tolist() == [1] * 10 + [0] * 20
    for ep in (ep0, ep1):
        m = ep.meta
        assert (m.source, m.operator, m.device, m.fps, m.env_id) == (
            "teleop",
            "op-test",
            "keyboard",
            FPS,
            "seals/CartPole-v0",
        )
        assert ep.truncated and not ep.terminated and len(ep) == 30
        assert m.started_utc < m.ended_utc and m.ended_utc.endswith("Z")
        assert isinstance(m.extra["frames_dropped"], int) and m.extra["ended_by"] == "env"
    assert ep0.meta.seed != ep1.meta.seed, "each episode gets a fresh seed"
    # The stored seed and actions reproduce the stored observations exactly.
    env = make_env(env_config("cartpole", max_episode_steps=30))
    for ep in (ep0, ep1):
        obs, _ = env.reset(seed=ep.meta.seed)
        replayed = [obs] + [env.step(int(a))[0] for a in ep.acts]
        np.testing.assert_array_equal(np.asarray(replayed, dtype=np.float32), ep.obs)


def test_the_clock_holds_its_rate_and_counts_the_frames_a_slow_one_missed():
    """The recorder's `frames_dropped` (and every window session's pacing) come from this clock."""
    from irlkit.teleop.loop import FixedRateClock

    clock = FixedRateClock(20.0)  # 50 ms frames
    t0 = time.perf_counter()
    assert [clock.wait() for _ in range(4)] == [0, 0, 0, 0]
    assert time.perf_counter() - t0 >= 4 * 0.05 - 1e-3  # it slept to each frame's deadline
    time.sleep(0.26)  # a frame whose work took 5+ periods
    assert clock.wait() >= 4
    t1 = time.perf_counter()
    clock.wait()  # resynchronized: the next frame is a whole period later, not rushed
    assert time.perf_counter() - t1 >= 0.05 - 1e-3
    fast = FixedRateClock(20.0, realtime=False)
    t2 = time.perf_counter()
    assert [fast.wait() for _ in range(100)] == [0] * 100 and time.perf_counter() - t2 < 0.05


def test_mountain_car_continuous_bang_bang_and_ramped_actions(tmp_path):
    L, R = pygame.K_LEFT, pygame.K_RIGHT
    plan = {(0, 3): [down(R)], (0, 8): [up(R)], (0, 10): [down(L)], (0, 15): [up(L)]}
    _, ds = record(tmp_path, env_config("mountain_car_continuous", max_episode_steps=20), Driver(plan), episodes=1)
    acts = ds.episode(0).acts
    assert acts.shape == (20, 1) and acts.dtype == np.float32
    np.testing.assert_array_equal(acts[:, 0], [0] * 3 + [1] * 5 + [0] * 2 + [-1] * 5 + [0] * 5)

    # Ramped: 0.05 s to full force at 200 steps/s is 10 steps of +0.1; releasing drops to zero.
    ramped = env_config("mountain_car_continuous", max_episode_steps=20)
    ramped.teleop = {"axes": [{"negative": "left", "positive": "right", "size": 1.0, "ramp_s": 0.05}]}
    (tmp_path / "r").mkdir()
    _, ds = record(tmp_path / "r", ramped, Driver({(0, 0): [down(R)], (0, 14): [up(R)]}), episodes=1)
    expected = np.concatenate([np.minimum(np.arange(1, 15) * 0.1, 1.0), np.zeros(6)])
    np.testing.assert_allclose(ds.episode(0).acts[:, 0], expected, atol=1e-6)


def test_window_title_hud_and_frames_scaled_to_fit(tmp_path):
    """Pendulum (500x500 frames) in a window at most 420x420: title, HUD contents, torque ramp."""
    seen: dict[str, Any] = {}

    def hook(status: Status) -> None:
        if status.state is RecorderState.WAITING and recorder.hud:  # the HUD drawn when episode 1 ended
            seen["waiting"] = list(recorder.hud)
        if status.step == 10:
            seen["recording"] = list(recorder.hud)
            seen["caption"] = pygame.display.get_caption()[0]
            seen["size"] = pygame.display.get_surface().get_size()
        driver(status)

    driver = Driver({(0, 0): [down(pygame.K_RIGHT)]})
    env = env_config("pendulum", max_episode_steps=12)
    cfg = RecorderConfig(
        env=env, dataset=str(tmp_path / "p"), operator="op-hud", fps=FPS, episodes=2, max_window=(420, 420)
    )
    recorder = Recorder(cfg, on_frame=hook)
    recorder.run()

    assert "irlkit" in seen["caption"] and "pendulum" in seen["caption"]
    assert seen["size"][0] <= 600 and seen["size"][1] <= 420, "frames shrink to fit (the HUD keeps 600 px width)"
    waiting, recording = "\n".join(seen["waiting"]), "\n".join(seen["recording"])
    assert "WAITING" in waiting and "episode 2 of 2" in waiting and "press Space" in waiting
    assert "RECORDING" in recording and "step 10" in recording and "return -" in recording
    assert "fps (target 200)" in recording and "left/right" in recording and "Esc quit" in recording
    # Shipped Pendulum key map: torque ramps by 2 / (0.25 s * 200 steps/s) = 0.04 per step.
    acts = DemoStore(tmp_path).open(str(tmp_path / "p")).episode(0).acts[:, 0]
    np.testing.assert_allclose(acts, 0.04 * np.arange(1, 13), atol=1e-6)


def test_pause_rerecord_discard_keep_and_quit(tmp_path):
    """Space pauses, Backspace re-records (same seed), Delete discards (fresh seed), Enter keeps, Esc quits."""

    def press(key: int) -> Callable[[], None]:
        return lambda: post(pygame.KEYDOWN, key)

    plan = {
        (0, 0): [down(pygame.K_RIGHT)],  # held from here on
        (0, 5): [press(pygame.K_BACKSPACE)],  # attempt 0: re-record after 5 steps
        (1, 3): [press(pygame.K_SPACE)],  # attempt 1: pause at step 3, resumed 5 frames later; kept (20 steps)
        (2, 4): [press(pygame.K_DELETE)],  # attempt 2: discard after 4 steps
        (3, 7): [press(pygame.K_RETURN)],  # attempt 3: keep it now, 7 steps long
        (4, 4): [press(pygame.K_ESCAPE)],  # attempt 4: quit after 4 steps
    }
    driver = Driver(plan)
    summary, ds = record(
        tmp_path, env_config("cartpole", max_episode_steps=20), driver, episodes=5, keep_discarded=True
    )

    assert not driver.plan and driver.paused_frames == 5
    assert summary.stopped_by == "quit" and summary.lost_steps == 4 and summary.discarded == 2
    assert [len(ep) for ep in ds] == [20, 7]
    kept0, kept1 = ds.episode(0), ds.episode(1)
    assert kept0.acts.tolist() == [1] * 20, "the pause neither took nor lost steps"
    assert kept1.truncated and not kept1.terminated and kept1.meta.extra["ended_by"] == "operator"
    discarded = [m for m in ds.select(include_discarded=True).metas if m.discarded]
    assert [(m.length, m.extra["ended_by"]) for m in discarded] == [(5, "rerecord"), (4, "discard")]
    assert discarded[0].seed == kept0.meta.seed, "re-record restarts from the same seed"
    assert discarded[1].seed != kept1.meta.seed, "discard moves on to a fresh seed"
    assert ds.validate() == []


def test_closing_the_window_keeps_finished_episodes(tmp_path):
    plan = {(1, 6): [lambda: pygame.event.post(pygame.event.Event(pygame.QUIT))]}
    summary, ds = record(tmp_path, env_config("cartpole", max_episode_steps=10), Driver(plan), episodes=3)
    assert summary.stopped_by == "window closed" and summary.lost_steps == 6
    assert len(ds) == 1 and ds.validate() == []


def test_sessions_append_and_a_dataset_of_another_env_is_refused_up_front(tmp_path):
    record(tmp_path, env_config("cartpole", max_episode_steps=5), Driver(), episodes=1)
    summary, ds = record(tmp_path, env_config("cartpole", max_episode_steps=5), Driver(), episodes=2)
    assert len(ds) == 3 and ds.episode(0).meta.episode_id not in summary.kept, "a second session appends"
    with pytest.raises(IrlkitError, match="recorded on seals/CartPole-v0.*Pick demos recorded on this env"):
        Recorder(RecorderConfig(env=env_config("mountain_car"), dataset=str(tmp_path / "demos"), operator="op-1"))


def test_episode_waits_for_space(tmp_path):
    driver = Driver(start=False)

    def hook(status: Status) -> None:
        driver(status)
        if driver.waiting_frames == 20:
            post(pygame.KEYDOWN, pygame.K_SPACE)
        if status.state is RecorderState.RECORDING and status.step == 2:
            post(pygame.KEYDOWN, pygame.K_ESCAPE)

    cfg = RecorderConfig(
        env=env_config("cartpole", max_episode_steps=10), dataset=str(tmp_path / "d"), operator="op-1", fps=FPS
    )
    summary = Recorder(cfg, on_frame=hook).run()
    assert driver.states[:20] == [RecorderState.WAITING] * 20 and RecorderState.RECORDING in driver.states
    assert summary.lost_steps == 2 and summary.kept == []


# ---- gamepad ------------------------------------------------------------------------------------
def test_gamepad_missing_is_a_clear_error(tmp_path):
    keymap = parse_keymap(env_config("cartpole").teleop, gym.spaces.Discrete(2), env_name="cartpole")
    pygame.joystick.init()
    if pygame.joystick.get_count() > 0:
        pytest.skip("a gamepad is attached to this machine")
    with pytest.raises(IrlkitError, match="no gamepad found.*input=keyboard"):
        GamepadInput(keymap, fps=FPS)
    with pytest.raises(IrlkitError, match="no gamepad found"):
        Recorder(
            RecorderConfig(env=env_config("cartpole"), dataset=str(tmp_path / "d"), operator="op-1", input="gamepad")
        )


def test_gamepad_stick_dead_zone_and_buttons_through_the_loop(tmp_path):
    """The dummy driver has no gamepad, but JOY* events can be injected: the device reads only events."""

    def axis(value: float) -> Callable[[], None]:
        return lambda: pygame.event.post(
            pygame.event.Event(pygame.JOYAXISMOTION, joy=0, instance_id=0, axis=0, value=value)
        )

    env = env_config("mountain_car_continuous", max_episode_steps=12)
    keymap = parse_keymap(env.teleop, gym.spaces.Box(-1.0, 1.0, (1,), np.float32), env_name=env.name)
    device = GamepadInput(keymap, fps=FPS, require_device=False)
    plan = {(0, 2): [axis(0.1)], (0, 4): [axis(0.575)], (0, 6): [axis(-1.0)], (0, 8): [axis(0.0)]}
    cfg = RecorderConfig(env=env, dataset=str(tmp_path / "d"), operator="op-1", fps=FPS, episodes=1)
    Recorder(cfg, device=device, on_frame=Driver(plan)).run()
    ep = DemoStore(tmp_path).open(str(tmp_path / "d")).episode(0)
    # 0.1 lies in the 0.15 dead zone; 0.575 is half-way from the dead zone's edge to full deflection.
    np.testing.assert_allclose(ep.acts[:, 0], [0, 0, 0, 0, 0.5, 0.5, -1, -1, 0, 0, 0, 0], atol=1e-6)
    assert ep.meta.device == "gamepad"

    # Unplugging the pad mid-episode pauses the recording and forgets the stick's last position.
    def removed() -> None:
        pygame.event.post(pygame.event.Event(pygame.JOYDEVICEREMOVED, instance_id=0))

    driver = Driver({(0, 0): [axis(-1.0)], (0, 3): [removed]})
    device = GamepadInput(keymap, fps=FPS, require_device=False)
    cfg = RecorderConfig(env=env, dataset=str(tmp_path / "u"), operator="op-1", fps=FPS, episodes=1)
    Recorder(cfg, device=device, on_frame=driver).run()
    assert driver.paused_frames == 5
    acts = DemoStore(tmp_path).open(str(tmp_path / "u")).episode(0).acts[:, 0]
    np.testing.assert_array_equal(acts, [-1, -1, -1] + [0] * 9)

    def button(kind: int, b: int) -> Callable[[], None]:
        return lambda: pygame.event.post(pygame.event.Event(kind, joy=0, instance_id=0, button=b))

    cart = env_config("cartpole", max_episode_steps=8)
    pad = GamepadInput(
        parse_keymap(cart.teleop, gym.spaces.Discrete(2), env_name="cartpole"), fps=FPS, require_device=False
    )
    plan = {(0, 2): [button(pygame.JOYBUTTONDOWN, 1)], (0, 5): [button(pygame.JOYBUTTONUP, 1)]}
    cfg = RecorderConfig(env=cart, dataset=str(tmp_path / "c"), operator="op-1", fps=FPS, episodes=1)
    Recorder(cfg, device=pad, on_frame=Driver(plan)).run()
    assert DemoStore(tmp_path).open(str(tmp_path / "c")).episode(0).acts.tolist() == [0, 0, 1, 1, 1, 0, 0, 0]


# ---- the Hydra entry ------------------------------------------------------------------------------
def _entry_env() -> dict[str, str]:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.slow
def test_record_help_and_missing_operator():
    out = subprocess.run(
        [sys.executable, "-m", "irlkit.record", "--help"],
        capture_output=True,
        text=True,
        env=_entry_env(),
        cwd=REPO,
        timeout=60,
    )
    assert out.returncode == 0
    for text in (
        "python -m irlkit.record env=<name> demos=<dataset> operator=<alias>",
        "  episodes ",
        "  input ",
        "  env.teleop.",
        "Backspace",
        "Esc",
    ):
        assert text in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "irlkit.record", "env=mountain_car"],
        capture_output=True,
        text=True,
        env=_entry_env(),
        cwd=REPO,
        timeout=60,
    )
    assert out.returncode == 2
    assert "operator= is required" in out.stderr and "Traceback" not in out.stderr
    no_display = {k: v for k, v in _entry_env().items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    no_display["SDL_VIDEODRIVER"] = "x11"
    out = subprocess.run(
        [sys.executable, "-m", "irlkit.record", "demos=/nonexistent/d", "operator=op-1"],
        capture_output=True,
        text=True,
        env=no_display,
        cwd=REPO,
        timeout=60,
    )
    assert out.returncode == 2 and "cannot start the display" in out.stderr and "xvfb-run" in out.stderr


def test_record_entry_composes_the_config_and_records(tmp_path):
    """The Hydra config path end to end, in process so the frame hook can post events."""
    import irlkit.record.__main__ as entry

    cfg = compose_config(
        "record",
        overrides=["env=mountain_car", "operator=op-9", "episodes=1", f"fps={FPS}", "env.max_episode_steps=12"],
    )
    cfg.demos = str(tmp_path / "mc")
    plan = {(0, 4): [down(pygame.K_RIGHT)], (0, 8): [up(pygame.K_RIGHT)]}
    summary = entry.run_record(cfg, on_frame=Driver(plan))
    ep = DemoStore(tmp_path).open(str(tmp_path / "mc")).episode(0)
    assert summary.kept == [ep.meta.episode_id]
    assert ep.acts.tolist() == [1] * 4 + [2] * 4 + [1] * 4, "MountainCar's no-op (1) while no key is held"
    assert ep.meta.env_id == "seals/MountainCar-v0" and ep.meta.operator == "op-9"


def test_record_entry_ctrl_c_while_waiting(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "irlkit.record", "env=cartpole", f"demos={tmp_path / 'd'}", "operator=op-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_entry_env(),
        cwd=tmp_path,
    )
    line = _read_until(proc, "Recording", timeout=30)
    assert "Space starts" in line
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Stopped (SIGINT): 0 episode(s) stored" in out and "Traceback" not in err
    assert not (tmp_path / "outputs").exists(), "record writes no Hydra output folder"
    assert not (tmp_path / "d").exists(), "a session that stored nothing leaves no empty dataset"


# ---- crashes: SIGINT and SIGKILL mid-episode ------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import os, sys
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import pygame
    from irlkit.envs import EnvConfig
    from irlkit.teleop import Recorder, RecorderConfig, RecorderState

    dataset, episodes, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    env = EnvConfig(name="cartpole", id="seals/CartPole-v0", max_episode_steps=steps,
                    teleop={"actions": {"left": 0, "right": 1}, "default": 0})
    told = set()

    def hook(s):
        if s.kept not in told:
            told.add(s.kept)
            print("KEPT", s.kept, flush=True)
        if s.state is RecorderState.WAITING:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
        elif s.step == 3:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT))
        elif s.step == 6 and s.kept == 2:
            print("MID", pygame.display.get_driver(), flush=True)

    summary = Recorder(RecorderConfig(env=env, dataset=dataset, operator="op-child", episodes=episodes, fps=100),
                       on_frame=hook).run()
    print("DONE", summary.stopped_by, len(summary.kept), summary.lost_steps, flush=True)
    """
)


def _read_until(proc: subprocess.Popen, prefix: str, timeout: float) -> str:
    end = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(prefix):
                return line.strip()
            if not line and proc.poll() is not None:
                break
    proc.kill()
    raise AssertionError(f"child never printed {prefix!r}; stderr: {proc.stderr.read() if proc.stderr else ''}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_killed_recorder_leaves_a_valid_dataset_with_the_earlier_episodes(tmp_path, sig):
    path = tmp_path / "demos"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "10", "25"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_entry_env(),
    )
    _read_until(proc, "MID", timeout=45)  # two episodes committed, the third 6 steps in
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    if sig != signal.SIGKILL:  # a clean stop at the next frame, dropping only the episode in progress
        assert proc.returncode == 0, err
        done = [line.split() for line in out.splitlines() if line.startswith("DONE")]
        assert done and done[0][1:3] == [sig.name, "2"], out + err
        assert int(done[0][3]) >= 6, "the episode in progress was dropped, not stored"
    else:
        assert proc.returncode == -signal.SIGKILL
    ds = DemoStore(tmp_path).open(str(path))
    assert ds.validate() == []
    assert len(ds) == 2 and all(len(ep) == 25 for ep in ds)
    assert all(ep.acts[3:].tolist() == [1] * 22 for ep in ds)


# ---- a real X display -------------------------------------------------------------------------------
def test_records_under_a_real_x_display(tmp_path):
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb); the real-display test needs it")
    read_fd, write_fd = os.pipe()
    # -displayfd: Xvfb picks a free display number itself and writes it once it accepts clients.
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 20)
        assert ready, "Xvfb did not start within 20 s"
        display = os.read(read_fd, 64).decode().strip()
        env = _entry_env()
        env.update(DISPLAY=f":{display}", SDL_VIDEODRIVER="x11")
        path = tmp_path / "x11"
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), "3", "10"], capture_output=True, text=True, env=env, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert "MID x11" in out.stdout, "the window opened on the X display, not the dummy driver"
        assert "DONE done 3" in out.stdout
        ds = DemoStore(tmp_path).open(str(path))
        assert len(ds) == 3 and ds.validate() == []
    finally:
        os.close(read_fd)
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("key", ["space", "return", "enter", "backspace", "delete", "escape"])
def test_keys_that_control_the_recording_cannot_drive(key):
    from irlkit.teleop.keymap import key_code

    with pytest.raises(IrlkitError, match="controls the recording"):
        key_code(key, where="env.teleop.actions")
