"""Making environments from an env config, the same way for training, recording and evaluation.

What is recorded is what is trained on and what is scored: the recorder, the trainer and the
evaluator all build their envs here from one `EnvConfig`. Every env is checked on the way: its id
registered (its module imported), its spaces ones irlkit's algorithms and store can hold, and an
episode length bounded.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import warnings
from typing import Any, Iterator, Optional, overload

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from irlkit.envs.config import EnvConfig
from irlkit.envs.stacks import refuse_broken_env
from irlkit.errors import IrlkitError

DEFAULT_MAX_EPISODE_STEPS = 1000
"""Time limit for an env registered without one: evaluation and rollouts must end."""

_EXTRAS_HINT = {
    "LunarLander": "pip install 'irlkit[box2d]' (the box2d wheel; gymnasium's box2d-py pin does not build here)",
    "CarRacing": "pip install 'irlkit[box2d]' (the box2d wheel)",
    "BipedalWalker": "pip install 'irlkit[box2d]' (the box2d wheel)",
    **{
        name: "pip install 'irlkit[mujoco]' (MuJoCo)"
        for name in (
            "Ant",
            "HalfCheetah",
            "Hopper",
            "Swimmer",
            "Walker2d",
            "Humanoid",
            "InvertedPendulum",
            "InvertedDoublePendulum",
            "Reacher",
            "Pusher",
        )
    },
}

_REGISTRY_HINT = (
    'List the registered ids with `python -c "import gymnasium; gymnasium.pprint_registry()"`; for an env of your '
    "own, pass env.id=<module>:<EnvId>, where importing <module> (on PYTHONPATH) calls gymnasium.register for <EnvId>."
)


@contextlib.contextmanager
def quiet_known_warnings() -> Iterator[None]:
    """Silence gymnasium 1.x's "Box low's precision lowered by casting to float32" (and high's).

    seals builds its observation spaces from float64 bounds with dtype float32; gymnasium 1.x warns
    about the cast at every env made. The cast is what the env means (its observations are float32),
    so the warning is noise, and it leaks into outputs that must be one clean paragraph. Only that
    message is silenced, only while irlkit makes envs."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"(?s).*Box (low|high)'s precision lowered by casting to float32", category=UserWarning
        )
        yield


def extra_hint(env_id: str) -> str:
    """`: pip install …` for envs that need a package irlkit does not install, else ''."""
    base = env_id.split(":")[-1].split("/")[-1]
    for key, hint in _EXTRAS_HINT.items():
        if base.startswith(key):
            return f": {hint}"
    return ""


def _import_env_module(env_id: str) -> None:
    """Import what registers `env_id`: seals (always a dependency) and, for `module:EnvId`, the module."""
    import seals  # noqa: F401  (registers seals/* ids)

    if ":" not in env_id:
        return
    module = env_id.split(":", 1)[0]
    try:
        with quiet_known_warnings():
            importlib.import_module(module)
    except Exception as err:  # noqa: BLE001  (user code: any error while importing it is the user's to see)
        raise IrlkitError(
            f"env.id={env_id!r}: importing the module {module!r} failed ({type(err).__name__}: {err}). Put the "
            f"module on PYTHONPATH (or pip install its package) and check that it imports with "
            f'`python -c "import {module}"`; importing it must call gymnasium.register for {env_id.split(":", 1)[1]!r}.'
        ) from None


def env_spec(env_id: str) -> gym.envs.registration.EnvSpec:
    """The registered spec of `env_id` (its module imported first), or one paragraph saying why not."""
    if not env_id:
        raise IrlkitError(
            "env=gym needs env.id=<gymnasium id>: e.g. `env=gym env.id=CartPole-v1`, or "
            "`env=gym env.id=my_package.module:MyEnv-v0` for an env of your own (the module is imported first, as "
            "gymnasium.make does); the shipped presets need no id (env=cartpole, env=pendulum, ...)."
        )
    _import_env_module(env_id)
    try:
        return gym.spec(env_id.split(":", 1)[-1])
    except gym.error.Error as err:
        raise IrlkitError(f"env.id={env_id!r} is not a registered gymnasium env: {err} {_REGISTRY_HINT}") from None


def _explain(cfg: EnvConfig, err: Exception) -> IrlkitError:
    hint = extra_hint(cfg.id)
    if hint:
        return IrlkitError(f"cannot make env {cfg.id!r}: {err}. It needs an extra package{hint}.")
    return IrlkitError(
        f"cannot make env {cfg.id!r} (env={cfg.name}): {type(err).__name__}: {err}. Check env.id and env.kwargs "
        "(conf/env/ for the shipped presets), or pick one of the shipped env configs with env=<name>."
    )


_capped: set[str] = set()


def time_limit(cfg: EnvConfig, spec: gym.envs.registration.EnvSpec) -> Optional[int]:
    """`max_episode_steps` for `gymnasium.make`: the config's, else the spec's own (None), else
    DEFAULT_MAX_EPISODE_STEPS for envs registered without one (said once per process), except seals'
    envs, which all end episodes at their own fixed horizon."""
    if cfg.max_episode_steps is not None:
        return int(cfg.max_episode_steps)
    if spec.max_episode_steps is not None or cfg.tabular or cfg.id.startswith("seals/"):
        return None  # its own limit; seals' tabular MDPs end at their own horizon
    if cfg.id not in _capped:
        _capped.add(cfg.id)
        print(
            f"irlkit: note: {cfg.id} is registered without a time limit; episodes end after "
            f"{DEFAULT_MAX_EPISODE_STEPS} steps (env.max_episode_steps=N to change that).",
            file=sys.stderr,
        )
    return DEFAULT_MAX_EPISODE_STEPS


def _is_image(space: spaces.Space) -> bool:
    """SB3's test for image observations (`is_image_space`), without importing torch."""
    return (
        isinstance(space, spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and bool(np.all(space.low == 0))
        and bool(np.all(space.high == 255))
    )


_FLAT = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def check_spaces(cfg: EnvConfig, observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """Refuse spaces irlkit cannot learn from, in one paragraph with the fix.

    Its policies and reward nets are MLPs over flat vectors (SB3's MlpPolicy, imitation's BasicRewardNet)
    and its store holds flat spaces only; image observations would need CNNs (not supported yet)."""
    where = f"env {cfg.id!r} (env={cfg.name})"
    for role, space in (("observation", observation_space), ("action", action_space)):
        if not isinstance(space, _FLAT):
            flatten = (
                "Register a flattened variant, e.g. gymnasium.register('MyEnvFlat-v0', entry_point=lambda **kw: "
                "gymnasium.wrappers.FlattenObservation(gymnasium.make('MyEnv-v0', **kw))), and pass env.id=<module>:"
                "MyEnvFlat-v0."
                if role == "observation"
                else "Give the env a Box, Discrete, MultiDiscrete or MultiBinary action space (a wrapper that maps one to "
                "the env's actions)."
            )
            raise IrlkitError(
                f"{where} has a {type(space).__name__} {role} space ({space}); irlkit handles only flat Box, "
                f"Discrete, MultiDiscrete and MultiBinary spaces. {flatten}"
            )
    if _is_image(observation_space):
        raise IrlkitError(
            f"{where} observes images ({observation_space}); irlkit's policies and reward nets are MLPs over state "
            "vectors and do not support image observations yet. Use the env's state-vector variant (many envs "
            "have one, e.g. obs_type='ram' or a non-pixel id), or wrap it to observe a flat state vector."
        )


def make_env(cfg: EnvConfig, *, render_mode: Optional[str] = None) -> gym.Env:
    """A single env, for recording, replay and per-episode evaluation."""
    spec = env_spec(cfg.id)
    refuse_broken_env(spec.id)
    kwargs = dict(cfg.kwargs)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        with quiet_known_warnings():
            env = gym.make(cfg.id, max_episode_steps=time_limit(cfg, spec), **kwargs)
    except (gym.error.Error, ImportError, ModuleNotFoundError, AttributeError, TypeError, ValueError) as err:
        raise _explain(cfg, err) from None
    check_spaces(cfg, env.observation_space, env.action_space)
    return env


def episode_limit(cfg: EnvConfig) -> Optional[int]:
    """The step at which the env made from `cfg` truncates every episode (its time limit), or None."""
    env = make_env(cfg)
    try:
        return env.spec.max_episode_steps if env.spec is not None else None
    finally:
        env.close()


def make_venv(cfg: EnvConfig, *, seed: int, n_envs: Optional[int] = None):
    """A vectorized env seeded from `seed`, with imitation's `RolloutInfoWrapper` for its rollouts."""
    from imitation.data.wrappers import RolloutInfoWrapper
    from imitation.util.util import make_vec_env

    spec = env_spec(cfg.id)
    make_env(cfg).close()  # checks the spaces before make_vec_env resets (and so runs) any env
    try:
        with quiet_known_warnings():
            venv = make_vec_env(
                cfg.id,
                rng=np.random.default_rng(seed),
                n_envs=n_envs or cfg.n_envs,
                max_episode_steps=time_limit(cfg, spec),
                post_wrappers=[lambda env, _: RolloutInfoWrapper(env)],
                env_make_kwargs=dict(cfg.kwargs),
            )
    except (gym.error.Error, ImportError, ModuleNotFoundError, AttributeError, TypeError, ValueError) as err:
        raise _explain(cfg, err) from None
    return venv


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
    except (ValueError, TypeError, AttributeError, gym.error.Error):
        return {"id": spec.id, "max_episode_steps": spec.max_episode_steps}


def dataset_for_env(store: Any, name: str, env_id: str, env: gym.Env, description: str) -> Any:
    """The dataset `name` that episodes of `env` are committed to: created with the env's spaces and
    spec, or opened when it exists and its spaces agree (writers call this at their first commit, so
    a session that stores nothing leaves nothing)."""
    return store.create(
        name,
        env_id=env_id,
        observation_space=env.observation_space,
        action_space=env.action_space,
        env_spec=env_spec_json(env),
        description=description,
        exist_ok=True,
    )
