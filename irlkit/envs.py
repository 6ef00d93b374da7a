"""Making environments from an env config, the same way for training, recording and evaluation.

What is recorded is what is trained on and what is scored: the recorder, the trainer and the
evaluator all build their envs here from one `EnvConfig`.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any, Optional, overload

import gymnasium as gym
import numpy as np

from irlkit.errors import IrlkitError

# Packages whose import registers envs; each is optional except seals.
_ENV_PACKAGES = {"seals/": "seals"}
_EXTRAS_HINT = {
    "LunarLander": "pip install 'box2d' (gymnasium's box2d-py pin does not build here; the box2d wheel does)",
    "seals/Ant": "pip install 'irlkit[mujoco]' (MuJoCo)",
    "seals/HalfCheetah": "pip install 'irlkit[mujoco]' (MuJoCo)",
    "seals/Hopper": "pip install 'irlkit[mujoco]' (MuJoCo)",
    "seals/Swimmer": "pip install 'irlkit[mujoco]' (MuJoCo)",
    "seals/Walker2d": "pip install 'irlkit[mujoco]' (MuJoCo)",
}


@dataclasses.dataclass
class EnvConfig:
    """One task: which gymnasium env, how episodes end, and which demos go with it."""

    name: str = "cartpole"
    """The config name users type (`env=cartpole`)."""
    id: str = "seals/CartPole-v0"
    """gymnasium id."""
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Passed to `gymnasium.make`."""
    demos: str = "cartpole_expert"
    """Default dataset in the demos store for this env."""
    horizon: str = "fixed"
    """`fixed` when every episode has the same length (seals envs, Pendulum); `variable` when an
    episode can end early (MountainCarContinuous, LunarLander). Adversarial and preference
    algorithms then run with imitation's `allow_variable_horizon` on purpose, with a notice."""
    max_episode_steps: Optional[int] = None
    """Overrides the env's own time limit."""
    n_envs: int = 8
    """Vectorized envs for on-policy learners."""
    tabular: bool = False
    """A tabular MDP (seals CliffWorld): the only kind MCE IRL accepts."""
    teleop: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Key map and action settings for the teleop recorder (see irlkit.teleop)."""


def _import_env_package(env_id: str) -> None:
    import seals  # noqa: F401  (registers seals/* ids; always a dependency)

    for prefix, module in _ENV_PACKAGES.items():
        if env_id.startswith(prefix):
            importlib.import_module(module)


def extra_hint(env_id: str) -> str:
    """`: pip install …` for envs that need a package irlkit does not install, else ''."""
    for key, hint in _EXTRAS_HINT.items():
        if key in env_id:
            return f": {hint}"
    return ""


def _explain(env_id: str, err: Exception) -> IrlkitError:
    for key, hint in _EXTRAS_HINT.items():
        if key in env_id:
            return IrlkitError(f"cannot make env {env_id!r}: {err}. It needs an extra package: {hint}.")
    return IrlkitError(
        f"cannot make env {env_id!r}: {err}. Check the id in the env config (conf/env/), or pick one of the "
        "shipped env configs with env=<name>."
    )


def make_env(cfg: EnvConfig, *, render_mode: Optional[str] = None) -> gym.Env:
    """A single env, for recording, replay and per-episode evaluation."""
    _import_env_package(cfg.id)
    kwargs = dict(cfg.kwargs)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(cfg.id, max_episode_steps=cfg.max_episode_steps, **kwargs)
    except (gym.error.Error, ImportError, ModuleNotFoundError, AttributeError, TypeError) as err:
        raise _explain(cfg.id, err) from None
    return env


def make_venv(cfg: EnvConfig, *, seed: int, n_envs: Optional[int] = None):
    """A vectorized env seeded from `seed`, with imitation's `RolloutInfoWrapper` for its rollouts."""
    from imitation.data.wrappers import RolloutInfoWrapper
    from imitation.util.util import make_vec_env

    _import_env_package(cfg.id)
    try:
        return make_vec_env(
            cfg.id,
            rng=np.random.default_rng(seed),
            n_envs=n_envs or cfg.n_envs,
            max_episode_steps=cfg.max_episode_steps,
            post_wrappers=[lambda env, _: RolloutInfoWrapper(env)],
            env_make_kwargs=dict(cfg.kwargs),
        )
    except (gym.error.Error, ImportError, ModuleNotFoundError, AttributeError) as err:
        raise _explain(cfg.id, err) from None


DEFAULT_FPS = 30.0
"""Frames per second for an env that declares no `render_fps` (videos, ramped keys, replay)."""


@overload
def render_fps(env: gym.Env, default: float = DEFAULT_FPS) -> float: ...


@overload
def render_fps(env: gym.Env, default: None) -> Optional[float]: ...


def render_fps(env: gym.Env, default: Optional[float] = DEFAULT_FPS) -> Optional[float]:
    """The env's own frame rate (`metadata["render_fps"]`), or `default` when it declares none.

    The one place the rate is read: the recorder, the corrections and shaping windows, replay and
    the evaluator's videos all show an env at the speed it was made to be watched at."""
    fps = (getattr(env, "metadata", None) or {}).get("render_fps")
    return float(fps) if fps else default


def env_spec_json(env: gym.Env) -> dict[str, Any]:
    """The env's registration as JSON, stored with datasets so readers know what made them."""
    spec = env.spec
    if spec is None:
        return {}
    try:
        import json

        return json.loads(spec.to_json())
    except (ValueError, TypeError, AttributeError):
        return {"id": spec.id, "max_episode_steps": spec.max_episode_steps}


def dataset_for_env(store: Any, name: str, env_id: str, env: gym.Env, description: str) -> Any:
    """The dataset `name` that episodes of `env` are committed to: created with the env's spaces and
    spec, or opened when it exists and its spaces agree (writers call this at their first commit, so
    a session that stores nothing leaves nothing)."""
    return store.create(name, env_id=env_id, observation_space=env.observation_space,
                        action_space=env.action_space, env_spec=env_spec_json(env), description=description,
                        exist_ok=True)


def env_config_dir() -> Path:
    """The env YAMLs: the checkout's `conf/env`, or the copy inside the wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "conf" / "env", package / "conf" / "env"):
        if candidate.is_dir():
            return candidate
    raise IrlkitError("cannot find irlkit's env configs (conf/env); the installation is incomplete")


def load_env_config(name: str) -> EnvConfig:
    """The `EnvConfig` of a shipped env YAML (`cartpole`, `pendulum`, ...), read without Hydra.

    For command-line tools that take an env name but do not compose a whole Hydra config.
    """
    import yaml

    path = env_config_dir() / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in env_config_dir().glob("*.yaml")))
        raise IrlkitError(f"no env config named {name!r}; the env configs are: {known}")
    with open(path, "r", encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    data.pop("defaults", None)
    known_fields = {f.name for f in dataclasses.fields(EnvConfig)}
    unknown = set(data) - known_fields
    if unknown:
        raise IrlkitError(f"env config {path} has unknown keys {sorted(unknown)}")
    return EnvConfig(**data)


def resolve_env_config(ref: str) -> EnvConfig:
    """An env config name (`cartpole`) or a gymnasium id (`seals/CartPole-v0`, `Acrobot-v1`).

    A gymnasium id that a shipped env config uses resolves to that config, so its name (and with
    it the shipped demos and expert) is found either way.
    """
    import re

    try:
        return load_env_config(ref)
    except IrlkitError:
        pass
    for path in sorted(env_config_dir().glob("*.yaml")):
        cfg = load_env_config(path.stem)
        if cfg.id == ref:
            return cfg
    if "-v" not in ref:
        known = ", ".join(sorted(p.stem for p in env_config_dir().glob("*.yaml")))
        raise IrlkitError(f"{ref!r} is neither an env config ({known}) nor a gymnasium id like 'Acrobot-v1'")
    name = re.sub(r"[^A-Za-z0-9_]+", "_", ref).strip("_").lower()
    return EnvConfig(name=name, id=ref, demos=f"{name}_demos")
