"""Bringing datasets in from other toolkits and handing them back, without losing a bit.

The store is irlkit's one data format; other formats are import/export edges:

- `minari`: a Minari dataset folder (HDF5 backend, the layout the `minari` package writes), read
  and written with minari's own API. Optional: `pip install 'irlkit[minari]'`.
- `imitation`: a folder written by `imitation.data.serialize.save` (a HuggingFace `datasets`
  folder), read with `datasets.load_from_disk` and never jsonpickle-decoded.
- `npz` (import only): imitation's legacy `.npz` (`obs, acts, terminal, rews, indices`) or the
  SB3-era expert `.npz` (`obs, actions, rewards, episode_starts, episode_returns`).

The store makes no envs: the caller describes the env the data is for as a `TargetEnv` (its id,
spaces and registration; `python -m irlkit.demos import --env` builds one from an env config).

Every importer returns an `ImportedData`; `import_dataset` then checks it against the env's spaces,
casts arrays to the space dtypes (HuggingFace hands back float64 where float32 was saved: the cast
back is exact) and commits everything as one segment, so an import lands whole or not at all.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from gymnasium import spaces

from irlkit.errors import StoreError
from irlkit.store.dataset import Dataset
from irlkit.store.episode import Episode
from irlkit.store.root import DemoStore
from irlkit.store.spaces import describe_space, spaces_match, storage_dtype

IMPORT_FORMATS = ("minari", "imitation", "npz")
EXPORT_FORMATS = ("minari", "imitation")


@dataclasses.dataclass(frozen=True)
class TargetEnv:
    """The env imported episodes belong to, as the caller made it (the store imports no envs)."""

    env_id: str
    observation_space: spaces.Space
    action_space: spaces.Space
    env_spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The env's registration as JSON (`irlkit.envs.env_spec_json`), stored with the dataset; its
    `max_episode_steps` tells time-limit truncations from terminations in SB3-era `.npz` files."""


@dataclasses.dataclass
class ImportedData:
    """What an importer read: episodes plus whatever the source says about its env."""

    episodes: list[Episode]
    env_id: Optional[str] = None
    observation_space: Optional[spaces.Space] = None
    action_space: Optional[spaces.Space] = None
    env_spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""


def json_infos_or_none(encoded: list[str]) -> Optional[list[dict[str, Any]]]:
    """Per-step infos from JSON strings, or None if any is not plain JSON.

    imitation stores infos jsonpickled; plain dicts of numbers and strings come out as plain JSON,
    anything else carries `py/...` tags that only jsonpickle (which can run code) understands.
    Those are dropped rather than decoded.
    """
    out = []
    for text in encoded:
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            return None
        if not isinstance(value, dict) or _has_py_tag(value):
            return None
        out.append(value)
    return out


def _has_py_tag(value: Any) -> bool:
    if isinstance(value, dict):
        return any(str(k).startswith("py/") or _has_py_tag(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_py_tag(v) for v in value)
    return False


def _cast_to_space(arr: np.ndarray, space: spaces.Space, field: str, where: str) -> np.ndarray:
    """Cast to the space's storage dtype: floats are rounded to it, integer casts that would change a value refused."""
    dtype = storage_dtype(space)
    arr = np.asarray(arr)
    if arr.dtype == dtype:
        return arr
    cast = arr.astype(dtype)
    with np.errstate(invalid="ignore"):
        same = np.array_equal(cast.astype(arr.dtype), arr, equal_nan=np.issubdtype(arr.dtype, np.floating))
    if not same and not np.issubdtype(dtype, np.floating):
        raise StoreError(
            f"{where}: field {field!r} holds {arr.dtype} values that do not fit {dtype} (fractions, or numbers "
            f"out of its range), which the space {describe_space(space)} needs"
        )
    return cast


def import_dataset(
    store: DemoStore,
    fmt: str,
    src: str | Path,
    name: str,
    *,
    env: TargetEnv | Callable[[], TargetEnv] | None = None,
    description: str = "",
    progress: bool = False,
) -> Dataset:
    """Read `src` in format `fmt` and store it as the new dataset `name`.

    :param env: the env the data is for, or a function that makes its `TargetEnv` (called only once
        the source has been read, so a file that is not what it claims is refused before any env is
        built). Needed when the source does not say which env made it (imitation and npz formats);
        when it does (Minari), their spaces must agree.
    """
    src = Path(src).expanduser()
    if not src.exists():
        raise StoreError(f"cannot import {src}: no such file or folder")
    if fmt == "minari":
        from irlkit.store.interop.minari import read_minari

        data = read_minari(src)
    elif fmt == "imitation":
        from irlkit.store.interop.imitation_format import read_imitation

        data = read_imitation(src)
    elif fmt == "npz":
        from irlkit.store.interop.npz import read_npz

        data = read_npz(src, env_max_steps=None)
    else:
        raise StoreError(f"unknown import format {fmt!r}; choose one of {', '.join(IMPORT_FORMATS)}")

    env_id, env_spec = data.env_id, dict(data.env_spec)
    obs_space, act_space = data.observation_space, data.action_space
    if callable(env):
        env = env()
    if env is not None:
        for what, theirs, mine in (
            ("observation", obs_space, env.observation_space),
            ("action", act_space, env.action_space),
        ):
            if theirs is not None and not spaces_match(theirs, mine):
                raise StoreError(
                    f"{src} has {what} space {describe_space(theirs)}, but env {env.env_id!r} has "
                    f"{describe_space(mine)}: pick the env the data was recorded on"
                )
        env_id, obs_space, act_space, env_spec = env.env_id, env.observation_space, env.action_space, dict(env.env_spec)
        if fmt == "npz":
            # Episode ends in SB3 .npz files are unmarked; the env's time limit tells them apart.
            from irlkit.store.interop.npz import read_npz

            data = read_npz(src, env_max_steps=(env_spec or {}).get("max_episode_steps"))
    if env_id is None or obs_space is None or act_space is None:
        raise StoreError(
            f"{src} does not say which env recorded it; pass --env with an env config name (cartpole, "
            "pendulum, ...) or a gymnasium id (from Python: env=TargetEnv(...))"
        )
    if not data.episodes:
        raise StoreError(f"{src} holds no episodes; nothing to import")
    episodes = []
    for k, ep in enumerate(data.episodes):
        where = f"{src}, episode {k}"
        obs = _cast_to_space(ep.obs, obs_space, "obs", where)
        acts = _cast_to_space(ep.acts, act_space, "acts", where)
        if isinstance(act_space, spaces.Discrete):
            acts = acts.reshape(len(acts))
        episodes.append(dataclasses.replace(ep, obs=obs, acts=acts, rews=np.asarray(ep.rews, dtype=np.float64)))
        ep.meta.env_id = ep.meta.env_id or env_id
    ds = store.create(
        name,
        env_id=env_id,
        observation_space=obs_space,
        action_space=act_space,
        env_spec=env_spec,
        description=description or data.description or f"Imported from {src}.",
    )
    try:
        ds.append_episodes(episodes)
    except BaseException:
        shutil.rmtree(ds.path, ignore_errors=True)
        raise
    return ds


def export_dataset(ds: Dataset, fmt: str, dst: str | Path, *, progress: bool = False) -> Path:
    """Write the (selected) episodes of `ds` to `dst` in format `fmt`; refuses to overwrite."""
    dst = Path(dst).expanduser()
    if dst.exists():
        raise StoreError(f"cannot export to {dst}: it already exists; remove it or choose another path")
    if len(ds) == 0:
        raise StoreError(f"dataset {ds.name!r} has no episodes to export")
    if fmt == "minari":
        from irlkit.store.interop.minari import write_minari

        write_minari(ds, dst)
    elif fmt == "imitation":
        from irlkit.store.interop.imitation_format import write_imitation

        write_imitation(ds, dst, progress=progress)
    else:
        raise StoreError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    return dst


__all__ = [
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "ImportedData",
    "TargetEnv",
    "export_dataset",
    "import_dataset",
    "json_infos_or_none",
]
