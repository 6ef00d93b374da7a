"""Environments: env configs (shipped presets and any gymnasium id), making envs and vec envs the
same way for training, recording and evaluation, horizon detection, and what differs per stack.

- `irlkit.envs.config`: `EnvConfig`, the presets in `conf/env/`, `env=gym env.id=<id>` configs;
- `irlkit.envs.make`: `make_env`, `make_venv` and the checks every env passes (registered, flat spaces,
  a time limit);
- `irlkit.envs.horizon`: fixed or variable episode lengths for `horizon: auto`;
- `irlkit.envs.stacks`: gymnasium 0.29 vs 1.x (renamed ids, envs that crash under numpy 2, render fixes).
"""

from irlkit.envs.config import (
    RESOLVERS,
    EnvConfig,
    env_config_dir,
    gym_env_config,
    load_env_config,
    name_for_id,
    preset_names,
    resolve_env_config,
)
from irlkit.envs.horizon import Horizon, detect_horizon
from irlkit.envs.make import (
    DEFAULT_MAX_EPISODE_STEPS,
    check_spaces,
    dataset_for_env,
    env_spec,
    env_spec_json,
    extra_hint,
    make_env,
    make_venv,
    quiet_known_warnings,
    render_fps,
)

__all__ = [
    "RESOLVERS",
    "DEFAULT_MAX_EPISODE_STEPS",
    "EnvConfig",
    "Horizon",
    "check_spaces",
    "dataset_for_env",
    "detect_horizon",
    "env_config_dir",
    "env_spec",
    "env_spec_json",
    "extra_hint",
    "gym_env_config",
    "load_env_config",
    "make_env",
    "make_venv",
    "name_for_id",
    "preset_names",
    "quiet_known_warnings",
    "render_fps",
    "resolve_env_config",
]
