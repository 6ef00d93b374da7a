"""Hydra at the edge: typed schemas, the config folder, and turning a DictConfig into dataclasses.

Only the entries (`__main__`, `record`, `replay`, `evaluate`, `bench`) import this module; the
library below them takes plain dataclasses, so it is usable from Python without Hydra.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from irlkit.envs import EnvConfig
from irlkit.errors import IrlkitError

_PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> str:
    """`conf/` inside an installed wheel, else the checkout's top-level `conf/`."""
    inside = _PACKAGE_DIR / "conf"
    if inside.is_dir():
        return str(inside)
    return str(_PACKAGE_DIR.parent / "conf")


_registered: set[tuple[Optional[str], str]] = set()
_SCHEMAS: dict[tuple[Optional[str], str], Any] = {("env", "env_schema"): EnvConfig}


def add_schema(group: Optional[str], name: str, node: Any) -> None:
    """Modules that own a config group add their schema here before `register_schemas` runs."""
    _SCHEMAS[(group, name)] = node


def register_schemas() -> None:
    """Put every typed schema added so far into Hydra's ConfigStore (each once per process)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    for key, node in _SCHEMAS.items():
        if key not in _registered:
            cs.store(group=key[0], name=key[1], node=node)
            _registered.add(key)


T = TypeVar("T")


def to_dataclass(cls: type[T], cfg: Any) -> T:
    """A DictConfig (or dict) as the library's dataclass, nested dataclasses included (a saved
    run's `algo.ppo` becomes a `PPOConfig`, not a dict); unknown keys refused by name."""
    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigKeyError

    data = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else dict(cfg)
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), data))  # type: ignore[return-value]
    except ConfigKeyError as err:
        names = sorted(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        raise IrlkitError(f"unknown key for {cls.__name__} ({err.msg.splitlines()[0]}); known keys: {names}") from None


def run_entry(fn: Callable[[], Any]) -> None:
    """Run an entry point; user mistakes become one paragraph on stderr and exit code 2; SIGTERM
    and Ctrl-C one line and 128 + the signal's number (irlkit/signals.py)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from irlkit import signals

    signals.stop_on_signals()
    try:
        fn()
    except KeyboardInterrupt:
        print(f"irlkit: {signals.interrupted_message()}; what was saved before it is kept", file=sys.stderr)
        sys.exit(signals.exit_status())
    except IrlkitError as err:
        print(f"irlkit: error: {err}", file=sys.stderr)
        sys.exit(signals.exit_status() if signals.received() is not None else 2)  # e.g. stopped while waiting
    except (HydraException, OmegaConfBaseException) as err:
        print(f"irlkit: config error: {_hydra_message(err)}", file=sys.stderr)
        sys.exit(2)


def _hydra_message(err: BaseException) -> str:
    text = str(err).strip().replace("\n", " ")
    if "Could not find" in text or "not found" in text:
        text += " (List the choices with --help; config groups live in conf/.)"
    return text
