"""Env configs: the `EnvConfig` dataclass, the shipped presets in `conf/env/`, and gymnasium ids.

A shipped preset (`env=cartpole`) names an id, its demos, its horizon and its key map. Any other
registered gymnasium env runs through `env=gym env.id=<id>` (`conf/env/gym.yaml`), users' own
included (`env.id=my_package.module:MyEnv-v0` imports the module first, as `gymnasium.make` does):
its name is derived from the id, its horizon detected (`irlkit.envs.horizon`), its key map
defaulted (`irlkit.teleop.keymap.default_teleop`), and its demos named by the user.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Optional

from irlkit.envs.stacks import stack_env_id
from irlkit.errors import IrlkitError

HORIZONS = ("auto", "fixed", "variable")


@dataclasses.dataclass
class EnvConfig:
    """One task: which gymnasium env, how episodes end, and which demos go with it."""

    name: str = "cartpole"
    """The config name users type (`env=cartpole`); for `env=gym`, derived from the id (`acrobot_v1`)."""
    id: str = "seals/CartPole-v0"
    """gymnasium id; `module.path:EnvId-v0` imports `module.path` first (where a user's env registers)."""
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Passed to `gymnasium.make`."""
    demos: str = "cartpole_expert"
    """Default dataset in the demos store for this env; empty: there is none, `demos=` is required."""
    horizon: str = "auto"
    """`fixed` when every episode has the same length (seals envs, Pendulum); `variable` when an
    episode can end early (MountainCarContinuous, LunarLander). Adversarial and preference
    algorithms then run with imitation's `allow_variable_horizon` on purpose, with a notice.
    `auto`: fixed for seals' ids, else variable unless shown otherwise (`irlkit.envs.horizon`)."""
    max_episode_steps: Optional[int] = None
    """Overrides the env's own time limit (an env registered without one gets 1000 steps)."""
    n_envs: int = 8
    """Vectorized envs for on-policy learners."""
    tabular: bool = False
    """A tabular MDP (seals CliffWorld): the only kind MCE IRL accepts."""
    teleop: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Key map and action settings for the teleop recorder (see irlkit.teleop); empty: the default
    map for the action space, where there is one."""


def name_for_id(env_id: str) -> str:
    """The config name of an env without a preset: its id in lower case, `_` for the rest
    (`Acrobot-v1` -> `acrobot_v1`, `my_pkg.envs:Maze-v0` -> `my_pkg_envs_maze_v0`).

    It names the run folder (`outputs/<algo>-<name>/`), the cached expert and default dataset names,
    so two ids never share one."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", str(env_id or "")).strip("_").lower()
    return name or "gym"


RESOLVERS = {"irlkit.env_name": name_for_id, "irlkit.stack_id": stack_env_id}
"""Resolvers the env YAMLs use: `name: ${irlkit.env_name:${.id}}` (conf/env/gym.yaml) and
`id: ${irlkit.stack_id:LunarLander-v3}` (the id this stack registers). The command line registers them
with OmegaConf (`irlkit.cli.schemas`); `load_env_config` applies them itself."""

_RESOLVER_CALL = re.compile(r"^\$\{(irlkit\.\w+):([^${}]*)\}$")


def _resolve(value: Any, where: Path) -> Any:
    """A YAML value with a `${irlkit.<resolver>:<literal>}` call replaced by its result (no OmegaConf
    below the command line; the presets use nothing else)."""
    if not isinstance(value, str) or "${" not in value:
        return value
    match = _RESOLVER_CALL.match(value.strip())
    if match is None or match.group(1) not in RESOLVERS:
        raise IrlkitError(
            f"env config {where}: {value!r} is not one of irlkit's resolvers ({', '.join(RESOLVERS)}) "
            "applied to a literal"
        )
    return RESOLVERS[match.group(1)](match.group(2).strip())


def env_config_dir() -> Path:
    """The env YAMLs: the checkout's `conf/env`, or the copy inside the wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package.parent / "conf" / "env", package / "conf" / "env"):
        if candidate.is_dir():
            return candidate
    raise IrlkitError("cannot find irlkit's env configs (conf/env); the installation is incomplete")


def preset_names() -> list[str]:
    """The shipped env configs users can name (`gym` is not one: it needs an id)."""
    return sorted(p.stem for p in env_config_dir().glob("*.yaml") if p.stem != "gym")


def load_env_config(name: str) -> EnvConfig:
    """The `EnvConfig` of a shipped env YAML (`cartpole`, `pendulum`, ...), read without Hydra.

    For command-line tools that take an env name but do not compose a whole Hydra config.
    """
    import yaml

    path = env_config_dir() / f"{name}.yaml"
    if name == "gym" or not path.exists():
        raise IrlkitError(f"no env config named {name!r}; the env configs are: {', '.join(preset_names())}")
    with open(path, "r", encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    data = {key: _resolve(value, path) for key, value in data.items()}
    data.pop("defaults", None)
    known_fields = {f.name for f in dataclasses.fields(EnvConfig)}
    unknown = set(data) - known_fields
    if unknown:
        raise IrlkitError(f"env config {path} has unknown keys {sorted(unknown)}")
    return EnvConfig(**data)


def gym_env_config(env_id: str, **changes: Any) -> EnvConfig:
    """What `env=gym env.id=<env_id>` composes: no preset, so no default demos and no key map."""
    return EnvConfig(**{"name": name_for_id(env_id), "id": env_id, "demos": "", "horizon": "auto", **changes})


def resolve_env_config(ref: str) -> EnvConfig:
    """An env config name (`cartpole`) or a gymnasium id (`seals/CartPole-v0`, `Acrobot-v1`,
    `my_pkg.envs:Maze-v0`).

    A gymnasium id that a shipped env config uses resolves to that config, so its name (and with
    it the shipped demos and expert) is found either way. Any other id must be registered (after
    importing its module); it gets `gym_env_config`.
    """
    from irlkit.envs.make import env_spec

    if ref in preset_names():
        return load_env_config(ref)
    for name in preset_names():
        cfg = load_env_config(name)
        if cfg.id == ref:
            return cfg
    if ref == "gym":
        raise IrlkitError(
            "'gym' needs an id here: pass the gymnasium id itself (e.g. Acrobot-v1, or my_package.module:MyEnv-v0)"
        )
    neither = (
        f"{ref!r} is neither an env config ({', '.join(preset_names())}) nor a gymnasium id like 'Acrobot-v1' "
        "or 'my_package.module:MyEnv-v0'"
    )
    if not re.fullmatch(r"[\w./:-]+", ref):
        raise IrlkitError(neither)
    try:
        env_spec(ref)  # registered? (imports the module); raises one paragraph when not
    except IrlkitError:
        if "-v" not in ref and ":" not in ref and "/" not in ref:
            raise IrlkitError(neither) from None
        raise
    return gym_env_config(ref)
