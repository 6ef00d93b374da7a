"""`.npz` files from before HuggingFace datasets: imitation's legacy layout and SB3-era experts.

Both are read with `allow_pickle=False`, so an object array (imitation's legacy `infos`) is never
unpickled: it is skipped, with a note on each episode.

- imitation legacy (`obs, acts, terminal, rews, indices[, infos]`): `indices` are the split points
  of `acts`; `obs` has one extra row per trajectory. `terminal` becomes `terminated`, a non-terminal
  trajectory `truncated`.
- SB3-era expert (`obs, actions, rewards, episode_starts, episode_returns`), what
  `stable_baselines.gail.generate_expert_traj` wrote and imitation issue #777 asks to read. These
  files have no final observation: the store repeats the last observation as the final one and sets
  `meta.extra["final_obs_missing"] = True`, so a reader can drop the last transition if it must.
  They do not say how episodes ended either: an episode as long as the env's time limit is marked
  truncated, any other terminated, and `meta.extra["end_inferred"] = True`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from irlkit.errors import StoreError
from irlkit.store.episode import Episode, EpisodeMeta
from irlkit.store.interop import ImportedData

IMITATION_KEYS = {"obs", "acts", "terminal", "indices"}
SB3_KEYS = {"obs", "actions", "rewards", "episode_starts"}


NPY_MAGIC = b"\x93NUMPY"


def _load(src: Path) -> Any:
    """The archive, opened without pickle; anything that is not an `.npz` (a zip of `.npy` arrays)
    is refused by what it is, before numpy would guess (its message for a text file suggests
    `allow_pickle`, which is exactly what must not be done with a file from elsewhere)."""
    if src.is_dir():
        raise StoreError(f"{src} is a folder, not an .npz file; for a dataset folder use --format imitation or minari")
    with open(src, "rb") as f:
        magic = f.read(len(NPY_MAGIC))
    if magic == NPY_MAGIC:
        raise StoreError(
            f"{src} holds a single .npy array, not an .npz archive of named arrays (obs, acts, ...); "
            "save the arrays together with numpy.savez"
        )
    if not zipfile.is_zipfile(src):
        raise StoreError(
            f"{src} is not an .npz file (an .npz is a zip archive of .npy arrays, written by numpy.savez); check the "
            "path, or pick the format it is in (--format imitation or minari)"
        )
    try:
        npz = np.load(src, allow_pickle=False)
        npz.files  # noqa: B018 - reads the archive's directory
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise StoreError(f"{src} is not a readable .npz file ({err}); it is damaged") from None
    return npz


def _get(npz, key: str, src: Path) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as err:
        if "pickle" in str(err):
            raise StoreError(
                f"{src}: array {key!r} holds Python objects, which would have to be unpickled (and "
                "unpickling a file can run code); irlkit never does. Save it as a plain numeric array."
            ) from None
        raise StoreError(f"{src}: array {key!r} cannot be read ({err}); the file is damaged") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise StoreError(f"{src}: array {key!r} cannot be read ({err}); the file is damaged") from None


def read_npz(src: Path, *, env_max_steps: Optional[int]) -> ImportedData:
    """Read either `.npz` layout, telling them apart by their keys."""
    npz = _load(src)
    keys = set(npz.files)
    if IMITATION_KEYS <= keys:
        return _read_imitation_npz(npz, src, keys)
    if SB3_KEYS <= keys:
        return _read_sb3_npz(npz, src, env_max_steps)
    raise StoreError(
        f"{src} has arrays {sorted(keys)}: neither imitation's legacy layout ({sorted(IMITATION_KEYS | {'rews'})}) "
        f"nor an SB3 expert file ({sorted(SB3_KEYS | {'episode_returns'})})"
    )


def _read_imitation_npz(npz, src: Path, keys: set[str]) -> ImportedData:
    obs, acts = _get(npz, "obs", src), _get(npz, "acts", src)
    terminal, indices = _get(npz, "terminal", src), _get(npz, "indices", src).astype(np.int64)
    n = len(indices) + 1 if len(terminal) == len(indices) + 1 else len(indices)
    # imitation's writer stores split points (len = n - 1); its reader also accepts n split points.
    splits = indices if len(indices) == n - 1 else indices[1:]
    if len(terminal) != n:
        raise StoreError(f"{src}: 'terminal' has {len(terminal)} entries for {n} trajectories")
    act_parts = np.split(acts, splits)
    obs_parts = np.split(obs, splits + np.arange(1, len(splits) + 1))
    rew_parts = np.split(_get(npz, "rews", src), splits) if "rews" in keys else [np.zeros(len(a)) for a in act_parts]
    note = f"imported from {src}"
    if "infos" in keys:
        note += "; per-step infos skipped (stored as pickled objects)"
    episodes = []
    for k, (o, a, r) in enumerate(zip(obs_parts, act_parts, rew_parts)):
        meta = EpisodeMeta(source="import", notes=note)
        if "rews" not in keys:
            meta.extra["rewards_missing"] = True
        episodes.append(
            Episode(
                obs=o,
                acts=a,
                rews=np.asarray(r, dtype=np.float64),
                terminated=bool(terminal[k]),
                truncated=not bool(terminal[k]),
                meta=meta,
            )
        )
    return ImportedData(episodes=episodes)


def _read_sb3_npz(npz, src: Path, env_max_steps: Optional[int]) -> ImportedData:
    obs, acts = _get(npz, "obs", src), _get(npz, "actions", src)
    rews, starts = _get(npz, "rewards", src).reshape(-1), _get(npz, "episode_starts", src).reshape(-1).astype(bool)
    if not (len(obs) == len(acts) == len(rews) == len(starts)):
        raise StoreError(
            f"{src}: 'obs' ({len(obs)}), 'actions' ({len(acts)}), 'rewards' ({len(rews)}) and 'episode_starts' "
            f"({len(starts)}) must have one row per step"
        )
    if len(starts) == 0:
        return ImportedData(episodes=[])
    starts[0] = True
    bounds = np.append(np.flatnonzero(starts), len(starts))
    stored_returns = _get(npz, "episode_returns", src).reshape(-1) if "episode_returns" in npz.files else None
    episodes = []
    for k in range(len(bounds) - 1):
        a0, a1 = bounds[k], bounds[k + 1]
        o = np.concatenate([obs[a0:a1], obs[a1 - 1 : a1]])  # final observation missing: repeat the last
        t = a1 - a0
        truncated = env_max_steps is not None and t >= env_max_steps
        meta = EpisodeMeta(
            source="import",
            notes=f"imported from {src} (SB3 expert .npz: final observation repeated, episode end inferred)",
            extra={"final_obs_missing": True, "end_inferred": True},
        )
        if stored_returns is not None and k < len(stored_returns):
            meta.extra["stored_return"] = float(stored_returns[k])
        episodes.append(
            Episode(
                obs=o,
                acts=acts[a0:a1],
                rews=rews[a0:a1].astype(np.float64),
                terminated=not truncated,
                truncated=truncated,
                meta=meta,
            )
        )
    return ImportedData(episodes=episodes)
