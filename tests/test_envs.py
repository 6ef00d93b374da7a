"""Any gymnasium env without a config file (`env=gym env.id=...`), users' own envs, and the two stacks.

The user env lives in a module written into the test's tmp dir and put on PYTHONPATH, the way a user's
package would be: `env.id=corridor_envs:Corridor-v0` imports it, and importing it registers the envs.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from conftest import run_cli
from irlkit.algos import DQNConfig
from irlkit.envs import (
    DEFAULT_MAX_EPISODE_STEPS,
    EnvConfig,
    detect_horizon,
    gym_env_config,
    load_env_config,
    make_env,
    make_venv,
    name_for_id,
    resolve_env_config,
)
from irlkit.envs.stacks import GYMNASIUM_1, NUMPY_2, stack_env_id
from irlkit.errors import IrlkitError

USER_ENVS = '''
"""A user's envs: importing this module registers them, as a user's package would."""
import gymnasium as gym
import numpy as np
from gymnasium import spaces


class Corridor(gym.Env):
    """Walk right along a corridor of LENGTH cells: +1 a step right, -1 a step left; the episode
    terminates at the far end (so its horizon is variable)."""

    LENGTH = 6
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.pos = 0

    def _obs(self):
        return np.array([self.pos / self.LENGTH, 1.0], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = int(self.np_random.integers(0, 2))
        return self._obs(), {}

    def step(self, action):
        step = 1 if int(action) == 1 else -1
        self.pos = max(0, self.pos + step)
        terminated = self.pos >= self.LENGTH
        return self._obs(), float(step), terminated, False, {}

    def render(self):
        frame = np.zeros((32, 8 * (self.LENGTH + 1), 3), dtype=np.uint8)
        frame[:, 8 * self.pos:8 * self.pos + 8] = (240, 200, 40)
        return frame


class DictObs(Corridor):
    def __init__(self, render_mode=None):
        super().__init__(render_mode)
        self.observation_space = spaces.Dict({"pos": spaces.Box(0.0, 1.0, (2,), np.float32)})

    def _obs(self):
        return {"pos": super()._obs()}


class TupleActions(Corridor):
    def __init__(self, render_mode=None):
        super().__init__(render_mode)
        self.action_space = spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2)))


class Pixels(Corridor):
    def __init__(self, render_mode=None):
        super().__init__(render_mode)
        self.observation_space = spaces.Box(0, 255, (16, 16, 3), np.uint8)


gym.register("Corridor-v0", entry_point=Corridor, max_episode_steps=30, reward_threshold=5.0)
gym.register("CorridorNoLimit-v0", entry_point=Corridor)
gym.register("CorridorDict-v0", entry_point=DictObs, max_episode_steps=30)
gym.register("CorridorTuple-v0", entry_point=TupleActions, max_episode_steps=30)
gym.register("CorridorPixels-v0", entry_point=Pixels, max_episode_steps=30)
'''

CORRIDOR = "corridor_envs:Corridor-v0"
NEEDS_NUMPY_1 = not GYMNASIUM_1 and NUMPY_2
"""The pinned stack with numpy 2: Acrobot-v1 and LunarLanderContinuous crash inside gymnasium 0.29.1."""


@pytest.fixture(scope="module")
def user_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the user's env module, on sys.path here and on PYTHONPATH for subprocesses."""
    folder = tmp_path_factory.mktemp("user_pkg")
    (folder / "corridor_envs.py").write_text(textwrap.dedent(USER_ENVS))
    sys.path.insert(0, str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])
    yield folder
    sys.path.remove(str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in os.environ["PYTHONPATH"].split(os.pathsep) if p != str(folder)
    )


@pytest.fixture(scope="module")
def corridor_store(user_envs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A store holding expert demos of the user env and a cache holding its SB3 expert, made the way a
    user makes them: a small PPO expert saved where `load_or_train_expert` looks, then
    `python -m irlkit.demos generate` (which reuses it)."""
    from irlkit.experts import ExpertRecipe, cached_expert_path, save_expert, train_expert

    root = tmp_path_factory.mktemp("corridor")
    env = {"IRLKIT_DEMOS": str(root / "store"), "XDG_CACHE_HOME": str(root / "cache")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        cfg = gym_env_config(CORRIDOR)
        recipe = ExpertRecipe(
            algo="PPO",
            total_timesteps=6_000,
            n_envs=4,
            hyperparams=dict(n_steps=128, batch_size=128),
            target_return=5.0,
            eval_every=2_000,
            eval_episodes=5,
        )
        expert = train_expert(cfg, seed=0, progress=False, recipe=recipe, log=lambda _: None)
        save_expert(expert, cached_expert_path(cfg.name, 0))
        proc = run_cli(["-m", "irlkit.demos", "generate", CORRIDOR, "corridor_expert", "--episodes", "12"], env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "using the cached expert" in proc.stderr
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return env


# ------------------------------------------------------------------------------------------------
# names, ids, configs
# ------------------------------------------------------------------------------------------------
def test_gym_config_names_come_from_the_id() -> None:
    assert name_for_id("Acrobot-v1") == "acrobot_v1"
    assert name_for_id("my_pkg.envs:Maze-v0") == "my_pkg_envs_maze_v0"
    assert name_for_id("seals/CartPole-v0") == "seals_cartpole_v0"
    assert name_for_id("") == "gym"


def test_env_gym_composes_with_hydra_and_names_the_run_folder() -> None:
    from hydra import compose, initialize_config_dir

    from irlkit.cli.app import config_dir
    from irlkit.cli.schemas import register_schemas

    register_schemas()

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("config", overrides=["env=gym", "env.id=CartPole-v1", "algo=gail"], return_hydra_config=True)
    assert cfg.env.name == "cartpole_v1" and cfg.env.id == "CartPole-v1" and cfg.demos == ""
    assert cfg.env.horizon == "auto" and dict(cfg.env.teleop) == {}
    assert "gail-cartpole_v1" in cfg.hydra.run.dir


def test_lunar_lander_preset_picks_this_stacks_id() -> None:
    assert load_env_config("lunar_lander").id == ("LunarLander-v3" if GYMNASIUM_1 else "LunarLander-v2")
    assert stack_env_id("CartPole-v1") == "CartPole-v1"


def test_resolve_env_config_takes_presets_registered_ids_and_user_modules(user_envs: Path) -> None:
    assert resolve_env_config("cartpole").name == "cartpole"
    assert resolve_env_config("seals/CartPole-v0").name == "cartpole"  # a preset's id finds the preset
    cfg = resolve_env_config(CORRIDOR)
    assert (cfg.name, cfg.id, cfg.demos, cfg.horizon) == ("corridor_envs_corridor_v0", CORRIDOR, "", "auto")
    with pytest.raises(IrlkitError, match="neither an env config"):
        resolve_env_config("no_such_env")
    with pytest.raises(IrlkitError, match=r"(?s)not a registered gymnasium env.*pprint_registry"):
        resolve_env_config("NoSuchEnv-v3")


# ------------------------------------------------------------------------------------------------
# bad input: one paragraph, exit 2, no traceback
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["env=gym"], "env=gym needs env.id=<gymnasium id>"),
        (["env=gym", "env.id=no_such_module.envs:Foo-v0"], "importing the module 'no_such_module.envs' failed"),
        (["env=gym", f"env.id={CORRIDOR}"], "pass demos=<dataset name or path>"),
    ],
)
def test_bad_gym_input_is_one_paragraph(overrides: list[str], expected: str, user_envs: Path, tmp_path: Path) -> None:
    proc = run_cli(["-m", "irlkit", *overrides, f"hydra.run.dir={tmp_path}"])
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    message = proc.stderr.strip()
    assert ": error: " in message and "\n" not in message, message
    if "demos=<dataset" in expected:
        assert f"python -m irlkit.demos generate {CORRIDOR}" in message and "python -m irlkit.record" in message


def test_spaces_irlkit_cannot_learn_from_are_refused_by_name(user_envs: Path, tmp_path: Path) -> None:
    for env_id, expected in [
        ("corridor_envs:CorridorDict-v0", r"Dict observation space.*FlattenObservation"),
        ("corridor_envs:CorridorTuple-v0", r"Tuple action space"),
        ("corridor_envs:CorridorPixels-v0", r"observes images.*not support image observations yet"),
    ]:
        with pytest.raises(IrlkitError, match=expected):
            make_env(gym_env_config(env_id))
        with pytest.raises(IrlkitError, match=expected):
            make_venv(gym_env_config(env_id), seed=0, n_envs=1)
    broken = tmp_path / "broken_envs.py"
    broken.write_text("raise RuntimeError('half-written module')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(
            IrlkitError, match=r"importing the module 'broken_envs' failed \(RuntimeError: half-written"
        ):
            make_env(gym_env_config("broken_envs:Foo-v0"))
    finally:
        sys.path.remove(str(tmp_path))


def test_env_without_time_limit_gets_the_default_one(user_envs: Path, capsys: pytest.CaptureFixture) -> None:
    env = make_env(gym_env_config("corridor_envs:CorridorNoLimit-v0"))
    assert env.spec.max_episode_steps == DEFAULT_MAX_EPISODE_STEPS
    env.close()
    assert "registered without a time limit" in capsys.readouterr().err
    env = make_env(gym_env_config("corridor_envs:CorridorNoLimit-v0", max_episode_steps=7))
    assert env.spec.max_episode_steps == 7
    env.close()


def test_seals_envs_are_made_without_the_box_precision_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_env(load_env_config("cartpole")).close()
        make_venv(load_env_config("mountain_car"), seed=0, n_envs=2).close()


# ------------------------------------------------------------------------------------------------
# horizon
# ------------------------------------------------------------------------------------------------
class _Meta:
    def __init__(self, length: int, terminated: bool):
        self.length, self.terminated = length, terminated


def test_horizon_auto_is_fixed_only_where_known(user_envs: Path) -> None:
    assert not detect_horizon(EnvConfig(id="seals/CartPole-v0", horizon="auto")).variable
    assert detect_horizon(EnvConfig(id="Pendulum-v1", horizon="fixed")).variable is False
    assert detect_horizon(EnvConfig(id="seals/CartPole-v0", horizon="variable")).variable
    demos_ended = detect_horizon(gym_env_config("Pendulum-v1"), [_Meta(200, False), _Meta(150, True)])
    assert demos_ended.variable and demos_ended.shown and "1 of the 2 demo episodes ended early" in demos_ended.why
    probed = detect_horizon(gym_env_config("CartPole-v1"), [_Meta(500, False)])
    assert probed.variable and probed.shown and "a random policy's episode ended after" in probed.why
    assumed = detect_horizon(gym_env_config("Pendulum-v1"), [_Meta(200, False)] * 3)
    assert assumed.variable and not assumed.shown and "env.horizon=fixed" in assumed.why
    assert "may end episodes at different lengths" in assumed.notice("Pendulum-v1", "gail")
    with pytest.raises(IrlkitError, match="env.horizon='sometimes'"):
        detect_horizon(EnvConfig(horizon="sometimes"))


# ------------------------------------------------------------------------------------------------
# every algorithm, the evaluator and the recorder on a user env
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow  # a few seconds each: whole runs
def test_bc_on_a_user_env_from_the_command_line_then_the_evaluator(corridor_store: dict, tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=bc",
            "env=gym",
            f"env.id={CORRIDOR}",
            "demos=corridor_expert",
            "algo.budget=300",
            "eval.episodes=3",
            "eval.curve_points=0",
            "progress=false",
            f"hydra.run.dir={run}",
        ],
        env=corridor_store,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((run / "eval.json").read_text())
    assert result["env"] == "corridor_envs_corridor_v0" and result["env_id"] == CORRIDOR
    assert result["demo_return"] > 4.0 and result["normalized_score"] > 0.5, (
        result
    )  # BC copies the expert walking right
    proc = run_cli(["-m", "irlkit.evaluate", f"run={run}", "episodes=2"], env=corridor_store)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((run / "eval.json").read_text())["episodes"] == 2


ALGOS = {
    "dagger": dict(budget=200, round_steps=100, bc_epochs_per_round=1),
    "gail": dict(budget=512, demo_batch_size=64, dqn=DQNConfig(learning_starts=100, net_arch=[16])),
    "airl": dict(budget=512, demo_batch_size=64, dqn=DQNConfig(learning_starts=100, net_arch=[16])),
    "sqil": dict(budget=512, dqn=DQNConfig(learning_starts=100, net_arch=[16])),
    "preference": dict(
        budget=512,
        total_comparisons=20,
        num_iterations=2,
        fragment_length=5,
        pretrain_steps=100,
        dqn=DQNConfig(learning_starts=100, net_arch=[16]),
    ),
    "density": dict(budget=512),
    "ppo": dict(budget=512),
}


@pytest.mark.slow  # a few seconds each: whole runs
@pytest.mark.parametrize("algo", list(ALGOS))
def test_every_algorithm_runs_on_a_user_env(
    algo: str, corridor_store: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """In process (the command line's path for env=gym is the BC test above): each algorithm's own
    config with a tiny budget, on the user env, with the expert demos and (DAgger) the cached expert."""
    from irlkit.algos import ALGORITHMS, PPOConfig
    from irlkit.evaluate import EvalConfig
    from irlkit.runconfig import RunConfig
    from irlkit.train import run_training

    monkeypatch.setenv("XDG_CACHE_HOME", corridor_store["XDG_CACHE_HOME"])
    changes = dict(ALGOS[algo])
    if algo not in ("dagger", "sqil"):
        changes["ppo"] = PPOConfig(n_steps=64, batch_size=64, n_epochs=2)
    algo_cfg = ALGORITHMS[algo].config(name=algo, **changes)
    config = RunConfig(
        algo=algo_cfg,
        env=gym_env_config(CORRIDOR, n_envs=2),
        demos="corridor_expert",
        demos_root=corridor_store["IRLKIT_DEMOS"],
        seed=0,
        eval=EvalConfig(episodes=2, curve_points=0),
        progress=False,
    )
    result = run_training(config, tmp_path)
    assert result["algo"] == algo and result["env_id"] == CORRIDOR and len(result["returns"]) == 2
    assert (tmp_path / "policy.zip").exists()
    err = capsys.readouterr().err
    if algo == "density":  # the demos end early: a variable horizon, said so where it leaks into the reward
        assert f"{CORRIDOR} ends episodes at different lengths (" in err and "demo episodes ended early" in err
    else:  # off-policy learners and preference give terminations an absorbing state instead
        assert "ends episodes at different lengths" not in err


def test_the_recorder_drives_a_user_env_with_the_default_key_map(user_envs: Path, tmp_path: Path) -> None:
    import pygame

    from irlkit.store import DemoStore
    from irlkit.teleop import Recorder, RecorderConfig, RecorderState

    def drive(status) -> None:  # a person: Space to start, then holds the right arrow
        if status.state is RecorderState.WAITING:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
            pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_SPACE))
        elif status.step == 2:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT))

    cfg = RecorderConfig(
        env=gym_env_config(CORRIDOR), dataset=str(tmp_path / "walk"), operator="op-2", episodes=1, fps=200, seed=3
    )
    summary = Recorder(cfg, on_frame=drive).run()
    ep = DemoStore(tmp_path).open(str(tmp_path / "walk")).episode(0)
    assert summary.kept == [ep.meta.episode_id] and ep.terminated and set(ep.acts.tolist()) <= {0, 1}
    assert ep.acts.tolist()[-5:] == [1] * 5, "right (the default map's action 1) walks to the end"


# ------------------------------------------------------------------------------------------------
# gymnasium's own envs without presets: CartPole-v1 and Acrobot-v1
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow  # a few seconds each: whole runs
def test_gail_on_cartpole_v1_detects_the_variable_horizon(store_root: Path, tmp_path: Path) -> None:
    proc = run_cli(
        ["-m", "irlkit.demos", "generate", "CartPole-v1", "cp_random", "--episodes", "6", "--policy", "random"]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=gail",
            "algo.learner=ppo",  # imitation's on-policy loop: the one whose rollouts leak the horizon
            "env=gym",
            "env.id=CartPole-v1",
            "demos=cp_random",
            "env.n_envs=2",
            "algo.budget=512",
            "algo.ppo.n_steps=64",
            "algo.ppo.batch_size=64",
            "algo.demo_batch_size=64",
            "eval.episodes=2",
            "eval.curve_points=0",
            "progress=false",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CartPole-v1 ends episodes at different lengths (" in proc.stderr
    assert json.loads((tmp_path / "eval.json").read_text())["env"] == "cartpole_v1"


@pytest.mark.slow
@pytest.mark.skipif(NEEDS_NUMPY_1, reason="Acrobot-v1 crashes in gymnasium 0.29.1 under numpy 2 (tested below)")
def test_acrobot_runs_from_the_command_line(store_root: Path, tmp_path: Path) -> None:
    proc = run_cli(["-m", "irlkit.demos", "generate", "Acrobot-v1", "acro", "--episodes", "2", "--policy", "random"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=bc",
            "env=gym",
            "env.id=Acrobot-v1",
            "demos=acro",
            "algo.budget=50",
            "eval.episodes=1",
            "eval.curve_points=0",
            "progress=false",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "eval.json").read_text())["env_id"] == "Acrobot-v1"


@pytest.mark.skipif(not NEEDS_NUMPY_1, reason="only the pinned stack with numpy 2 cannot run Acrobot-v1")
def test_acrobot_on_the_pinned_stack_says_which_stack_runs_it() -> None:
    with pytest.raises(IrlkitError, match=r"does not run on this stack.*np\.float_.*scripts/install\.sh"):
        make_env(gym_env_config("Acrobot-v1"))


# ------------------------------------------------------------------------------------------------
# optional packages: box2d (LunarLander) and mujoco (v5 ids, seals v1 ids)
# ------------------------------------------------------------------------------------------------
def _steps(cfg: EnvConfig, n: int = 5) -> None:
    env = make_env(cfg)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(n):
        env.step(env.action_space.sample())
    env.close()


def test_lunar_lander_preset_and_its_continuous_variant() -> None:
    pytest.importorskip("Box2D", reason="pip install 'irlkit[box2d]'")
    _steps(load_env_config("lunar_lander"))
    continuous = gym_env_config(stack_env_id("LunarLanderContinuous-v3"))
    if NEEDS_NUMPY_1:
        with pytest.raises(IrlkitError, match="does not run on this stack"):
            make_env(continuous)
    else:
        _steps(continuous)


def test_lunar_lander_without_box2d_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Box2D made unimportable for this test (where it is installed), as on a machine without it."""
    monkeypatch.setitem(sys.modules, "Box2D", None)
    for module in [m for m in sys.modules if m.startswith("gymnasium.envs.box2d")]:
        monkeypatch.delitem(sys.modules, module)
    with pytest.raises(IrlkitError, match=r"Box2D is not installed.*irlkit\[box2d\]"):
        make_env(load_env_config("lunar_lander"))


@pytest.mark.parametrize(
    "env_id",
    ["Hopper-v5", "HalfCheetah-v5", "Walker2d-v5", "Ant-v5", "Swimmer-v5", "seals/Hopper-v1", "seals/Swimmer-v1"],
)
def test_mujoco_envs_step(env_id: str) -> None:
    pytest.importorskip("mujoco", reason="pip install 'irlkit[mujoco]'")
    if env_id.endswith("-v5") and not GYMNASIUM_1:
        pytest.skip("the MuJoCo v5 ids are gymnasium 1.x's")
    cfg = resolve_env_config(env_id)
    if (
        not GYMNASIUM_1
        and env_id == "seals/Swimmer-v1"
        and int(pytest.importorskip("mujoco").__version__.split(".")[0]) >= 4
    ):
        with pytest.raises(IrlkitError, match=r"does not run on this stack.*older mujoco"):
            make_env(cfg)
        return
    _steps(cfg)
    assert detect_horizon(cfg).variable == (not env_id.startswith("seals/"))


def test_played_episodes_keep_each_steps_own_observation() -> None:
    """Every stored observation is the one the policy acted on: obs[t + 1] == next_obs[t] inside an
    episode. (Before, each step stored a view of a buffer row that later steps overwrote, so the
    evaluator's reward agreement and the policy selection saw the episode's last state everywhere.)"""
    import numpy as np

    from irlkit.envs import load_env_config
    from irlkit.envs.episodes import run_episodes

    r = run_episodes(load_env_config("mountain_car_continuous"), None, [5, 6])
    ends = np.flatnonzero(r.dones)
    assert len(ends) == 2 and ends[-1] == len(r.obs) - 1
    inside = np.setdiff1d(np.arange(len(r.obs) - 1), ends)
    np.testing.assert_array_equal(r.obs[inside + 1], r.next_obs[inside])
    assert len(np.unique(r.obs[: ends[0] + 1], axis=0)) > 0.9 * (ends[0] + 1)  # a random walk rarely repeats a state
