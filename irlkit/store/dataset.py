"""A dataset of episodes on disk: immutable segments of per-column `.npy` files.

Why this layout (see BENCHMARKS.md for the numbers):
- Loading is memory-mapping a handful of `.npy` files: 1M CartPole transitions open in
  milliseconds and hand imitation its arrays without parsing or unpickling anything.
- Crash safety needs no journal: a segment is written in `.tmp/`, fsync'd, then renamed into
  `segments/` in one atomic step. Readers only look in `segments/`, so a killed writer leaves at
  worst an ignored folder in `.tmp/`; committed segments are never rewritten.
- Concurrent writers need no lock: each segment has a unique name (time + random), and the list of
  segments is the directory listing, so there is no shared manifest to race on.
- `compact` merges segments into one that names the ones it replaces; readers skip replaced
  segments, so a reader never counts an episode twice even while compaction runs.

Folder layout::

    NAME/dataset.json                 env id and spec, spaces, schema version, description
    NAME/segments/<time>-<rand>/      one committed segment (one or many episodes)
        segment.json                  per-episode metadata, per-file sha256 and size
        obs.npy acts.npy rews.npy     columns, episodes concatenated (obs has T+1 rows each)
        infos.jsonl                   optional per-step infos, one JSON line per episode
    NAME/journal/<name>/              an episode in progress, logged per step (journal.py)
    NAME/.tmp/                        segments being written (never read)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
from gymnasium import spaces

from irlkit import __version__
from irlkit.errors import SchemaVersionError, StoreError
from irlkit.store.episode import SOURCES, Episode, EpisodeMeta, check_operator, utc_now
from irlkit.store.spaces import (
    describe_space,
    out_of_space,
    space_from_json,
    space_to_json,
    spaces_match,
    storage_dtype,
)

if TYPE_CHECKING:
    from irlkit.store.journal import EpisodeJournal, JournalState

SCHEMA_VERSION = 1
"""Bumped whenever the on-disk layout changes in a way an older reader would misread."""

_COLUMNS = ("obs", "acts", "rews")
_SMALL_FILE = 1 << 18
"""Columns smaller than this (256 KiB) are read into memory rather than memory-mapped."""


# --------------------------------------------------------------------------------------------
# small filesystem helpers: every file the store writes goes through these
# --------------------------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _save_npy(path: Path, array: np.ndarray) -> dict[str, Any]:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return {"bytes": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_json(path: Path, what: str) -> Any:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise StoreError(f"{what}: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise StoreError(f"{what}: {path} is not valid JSON ({err}); the file is damaged") from None


def _json_safe(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=_np_default))
    except (TypeError, ValueError) as err:
        raise StoreError(f"{where} is not JSON-safe ({err}); store plain numbers, strings, lists and dicts") from None


def _np_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def create_folder_atomically(path: Path, subdirs: Sequence[str], meta_name: str, info: dict[str, Any]) -> bool:
    """Build a folder (its subfolders and metadata file) aside, then rename it into place.

    Two processes creating the same dataset at once end with one of them winning; the loser gets
    False (its staging copy removed) and opens what the winner made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / f".{path.name}.creating-{secrets.token_hex(4)}"
    for sub in subdirs:
        (staging / sub).mkdir(parents=True)
    _write_file(staging / meta_name, (json.dumps(info, indent=1, sort_keys=True) + "\n").encode())
    _fsync_dir(staging)
    try:
        os.rename(staging, path)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        return False
    _fsync_dir(path.parent)
    return True


def _check_terminal(terminal: str) -> None:
    if terminal not in ("done", "terminated"):
        raise ValueError(f"terminal={terminal!r}: choose 'done' or 'terminated'")


def _segment_name() -> str:
    # Sorting by name sorts by commit time; the random tail keeps concurrent writers apart.
    return f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}"


# --------------------------------------------------------------------------------------------
# segments
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Segment:
    """A committed, immutable segment, with its columns memory-mapped on first use."""

    path: Path
    header: dict[str, Any]
    metas: list[EpisodeMeta]
    obs_offsets: np.ndarray  # start row of each episode in obs.npy (len = episodes + 1)
    act_offsets: np.ndarray  # start row of each episode in acts.npy / rews.npy
    _columns: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    _infos: Optional[list[Optional[list[dict]]]] = None

    @property
    def name(self) -> str:
        return self.path.name

    def column(self, name: str) -> np.ndarray:
        if name not in self._columns:
            path = self.path / f"{name}.npy"
            size = self.header.get("files", {}).get(f"{name}.npy", {}).get("bytes", 0)
            try:
                if size and size < _SMALL_FILE:
                    # Mapping a small file costs more than reading it (a segment per teleop episode
                    # is common); read-only either way, so callers see the same thing.
                    arr = np.load(path, allow_pickle=False)
                    arr.flags.writeable = False
                else:
                    arr = np.load(path, mmap_mode="r", allow_pickle=False)
                self._columns[name] = arr
            except (ValueError, OSError) as err:
                raise StoreError(
                    f"segment {self.name}: file {name}.npy cannot be read ({err}); it is damaged. "
                    "Run `python -m irlkit.demos validate` for details."
                ) from None
        return self._columns[name]

    def infos(self, index: int) -> Optional[list[dict]]:
        if not self.header.get("has_infos"):
            return None
        if self._infos is None:
            with open(self.path / "infos.jsonl", "r", encoding="utf-8") as f:
                self._infos = [json.loads(line) for line in f]
        return self._infos[index]


def _load_segment(path: Path) -> _Segment:
    header = _read_json(path / "segment.json", f"segment {path.name}")
    version = header.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"segment {path.name} was written with store schema version {version}, but this irlkit "
            f"({__version__}) reads up to version {SCHEMA_VERSION}. Upgrade irlkit to read it."
        )
    for fname, info in header.get("files", {}).items():
        fpath = path / fname
        size = fpath.stat().st_size if fpath.exists() else -1
        if size != info.get("bytes"):
            raise StoreError(
                f"segment {path.name}: file {fname} has {size} bytes, expected {info.get('bytes')}; it "
                "was truncated or changed after it was written. Restore it from a backup, or remove "
                "the segment folder to drop its episodes."
            )
    metas = [EpisodeMeta.from_json(m) for m in header["episodes"]]
    lengths = np.asarray([m.length for m in metas], dtype=np.int64)
    act_offsets = np.concatenate([[0], np.cumsum(lengths)])
    obs_offsets = act_offsets + np.arange(len(lengths) + 1)
    return _Segment(path, header, metas, obs_offsets, act_offsets)


@dataclasses.dataclass(frozen=True)
class _Ref:
    """Where one episode lives: a segment and its index inside it."""

    segment: _Segment
    index: int

    @property
    def meta(self) -> EpisodeMeta:
        return self.segment.metas[self.index]


# --------------------------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------------------------
class Dataset:
    """A named collection of episodes for one env, readable while others append to it.

    Open with `Dataset.open(path)` (or `DemoStore.open(name)`), create with `Dataset.create`.
    `select(...)` returns a filtered view with the same API, so everything that loads data
    (training, export, replay) can take a selection as well as a whole dataset.
    """

    def __init__(self, path: Path, info: dict[str, Any], where: Optional[Callable[[EpisodeMeta], bool]] = None,
                 include_discarded: bool = False):
        self.path = Path(path)
        self._info = info
        self._where = where
        self._include_discarded = include_discarded
        self.observation_space: spaces.Space = space_from_json(info["observation_space"])
        self.action_space: spaces.Space = space_from_json(info["action_space"])
        self._refs: list[_Ref] = []
        self._segments: dict[str, _Segment] = {}
        self.refresh()

    # ---- creating and opening -------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: os.PathLike | str,
        *,
        env_id: str,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        env_spec: Optional[dict[str, Any]] = None,
        description: str = "",
        exist_ok: bool = False,
    ) -> "Dataset":
        """Create an empty dataset; with `exist_ok`, open an existing one if its spaces agree."""
        path = Path(path)
        info = {
            "schema_version": SCHEMA_VERSION,
            "env_id": env_id,
            "env_spec": _json_safe(env_spec or {}, "env_spec"),
            "observation_space": space_to_json(observation_space),
            "action_space": space_to_json(action_space),
            "description": description,
            "created_utc": utc_now(),
            "irlkit_version": __version__,
        }
        if (path / "dataset.json").exists():
            if not exist_ok:
                raise StoreError(f"dataset {path.name!r} already exists at {path}; choose another name or remove it")
            existing = cls.open(path)
            existing.check_spaces(observation_space, action_space, env_id=env_id)
            return existing
        if not create_folder_atomically(path, ("segments", ".tmp"), "dataset.json", info):
            if not (path / "dataset.json").exists():
                raise StoreError(f"cannot create dataset at {path}: the folder exists but is not a dataset")
            if not exist_ok:
                raise StoreError(f"dataset {path.name!r} already exists at {path}")
            existing = cls.open(path)
            existing.check_spaces(observation_space, action_space, env_id=env_id)
            return existing
        return cls(path, info)

    @classmethod
    def open(cls, path: os.PathLike | str, *, verify: bool = False) -> "Dataset":
        """Open a dataset folder. `verify=True` also checks every file's sha256 (slower)."""
        path = Path(path)
        if not (path / "dataset.json").exists():
            hint = "" if path.exists() else " (no such folder)"
            raise StoreError(
                f"{path} is not an irlkit dataset{hint}: it has no dataset.json. List datasets with "
                "`python -m irlkit.demos ls`, or import one with `python -m irlkit.demos import`."
            )
        info = _read_json(path / "dataset.json", f"dataset {path.name}")
        version = info.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"dataset {path.name!r} was written with store schema version {version}, but this irlkit "
                f"({__version__}) reads up to version {SCHEMA_VERSION}. Upgrade irlkit "
                "(pip install -U irlkit) to read it."
            )
        for key in ("env_id", "observation_space", "action_space"):
            if key not in info:
                raise StoreError(f"dataset {path.name!r}: dataset.json has no {key!r}; the file is damaged")
        ds = cls(path, info)
        if verify:
            ds.verify_checksums()
        return ds

    def refresh(self) -> None:
        """Re-read the segment list: picks up episodes other writers committed since opening."""
        seg_dir = self.path / "segments"
        names = sorted(p.name for p in seg_dir.iterdir() if p.is_dir()) if seg_dir.exists() else []
        segments = {}
        for name in names:
            segments[name] = self._segments.get(name) or _load_segment(seg_dir / name)
        replaced = {r for seg in segments.values() for r in seg.header.get("replaces", [])}
        self._segments = {n: s for n, s in segments.items() if n not in replaced}
        refs = []
        for seg in self._segments.values():
            for i, meta in enumerate(seg.metas):
                if meta.discarded and not self._include_discarded:
                    continue
                if self._where is not None and not self._where(meta):
                    continue
                refs.append(_Ref(seg, i))
        self._refs = refs

    # ---- metadata ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def env_id(self) -> str:
        return self._info["env_id"]

    @property
    def env_spec(self) -> dict[str, Any]:
        return self._info.get("env_spec") or {}

    @property
    def description(self) -> str:
        return self._info.get("description", "")

    @property
    def info(self) -> dict[str, Any]:
        """Dataset-level metadata as stored in dataset.json (a copy)."""
        return json.loads(json.dumps(self._info))

    def __len__(self) -> int:
        return len(self._refs)

    @property
    def metas(self) -> list[EpisodeMeta]:
        return [r.meta for r in self._refs]

    @property
    def num_steps(self) -> int:
        return int(sum(r.meta.length for r in self._refs))

    def summary(self) -> dict[str, Any]:
        """Counts and provenance at a glance (what `demos ls` and `demos show` print)."""
        metas = self.metas
        returns = [m.episode_return for m in metas]
        return {
            "name": self.name,
            "env_id": self.env_id,
            "episodes": len(metas),
            "steps": int(sum(m.length for m in metas)),
            "mean_return": float(np.mean(returns)) if returns else None,
            "std_return": float(np.std(returns)) if returns else None,
            "sources": sorted({m.source for m in metas}),
            "operators": sorted({m.operator for m in metas if m.operator}),
            "observation_space": describe_space(self.observation_space),
            "action_space": describe_space(self.action_space),
            "segments": len(self._segments),
            "description": self.description,
        }

    def episode_ids(self, *, include_discarded: bool = False) -> list[str]:
        """Ids of the committed episodes (all segments, ignoring this view's selection)."""
        view = Dataset(self.path, self._info, include_discarded=include_discarded)
        return [r.meta.episode_id for r in view._refs]

    # ---- selecting --------------------------------------------------------------------------
    def select(
        self,
        *,
        operator: Optional[str | Sequence[str]] = None,
        source: Optional[str | Sequence[str]] = None,
        min_return: Optional[float] = None,
        max_return: Optional[float] = None,
        where: Optional[Callable[[EpisodeMeta], bool]] = None,
        include_discarded: bool = False,
    ) -> "Dataset":
        """A view holding only the episodes whose metadata match every given condition."""
        operators = {operator} if isinstance(operator, str) else set(operator) if operator else None
        sources = {source} if isinstance(source, str) else set(source) if source else None
        previous = self._where

        def keep(m: EpisodeMeta) -> bool:
            return (
                (previous is None or previous(m))
                and (operators is None or m.operator in operators)
                and (sources is None or m.source in sources)
                and (min_return is None or m.episode_return >= min_return)
                and (max_return is None or m.episode_return <= max_return)
                and (where is None or where(m))
            )

        view = Dataset.__new__(Dataset)
        view.path, view._info, view._where = self.path, self._info, keep
        view._include_discarded = include_discarded or self._include_discarded
        view.observation_space, view.action_space = self.observation_space, self.action_space
        view._segments, view._refs = dict(self._segments), []
        view.refresh()
        return view

    # ---- reading ----------------------------------------------------------------------------
    def episode(self, k: int) -> Episode:
        """The k-th episode (commit order), arrays memory-mapped read-only."""
        if not -len(self._refs) <= k < len(self._refs):
            raise StoreError(f"dataset {self.name!r} has {len(self._refs)} episodes; there is no episode {k}")
        return self._read(self._refs[k])

    def episodes(self) -> Iterator[Episode]:
        for ref in self._refs:
            yield self._read(ref)

    def __iter__(self) -> Iterator[Episode]:
        return self.episodes()

    def _read(self, ref: _Ref) -> Episode:
        seg, i, m = ref.segment, ref.index, ref.meta
        o0, o1 = seg.obs_offsets[i], seg.obs_offsets[i + 1]
        a0, a1 = seg.act_offsets[i], seg.act_offsets[i + 1]
        return Episode(
            obs=seg.column("obs")[o0:o1],
            acts=seg.column("acts")[a0:a1],
            rews=seg.column("rews")[a0:a1],
            terminated=m.terminated,
            truncated=m.truncated,
            infos=seg.infos(i),
            meta=m,
        )

    def _require_episodes(self) -> None:
        if not self._refs:
            what = "matching the selection " if self._where else ""
            raise StoreError(
                f"dataset {self.name!r} has no episodes {what}to learn from ({self.path}). Record some "
                "(`python -m irlkit.record`), generate some (`python -m irlkit.demos generate`), or "
                "loosen the selection."
            )

    def to_trajectories(self, *, terminal: str = "done") -> list:
        """imitation `TrajectoryWithRew`s whose arrays are views of the memory-mapped files.

        `terminal="done"` marks every episode end as terminal, which is what imitation's own
        rollouts produce for the learner's samples (adversarial methods compare the two, so they
        must agree); `terminal="terminated"` keeps truncated episodes non-terminal.
        """
        from imitation.data.types import TrajectoryWithRew

        self._require_episodes()
        _check_terminal(terminal)
        out = []
        for ref in self._refs:
            ep = self._read(ref)
            is_terminal = ep.terminated or (terminal == "done" and ep.truncated)
            out.append(TrajectoryWithRew(obs=ep.obs, acts=ep.acts, infos=None, terminal=is_terminal, rews=ep.rews))
        return out

    def to_transitions(self, *, terminal: str = "done") -> Any:
        """One imitation `Transitions` for all selected episodes, built with vectorized copies only.

        `acts` is the memory-mapped column itself when a single whole segment is selected; `obs`
        and `next_obs` are one masked copy each (they interleave in the stored T+1 layout).
        """
        from imitation.data.types import Transitions

        self._require_episodes()
        _check_terminal(terminal)
        obs_parts, next_parts, act_parts, done_parts = [], [], [], []
        by_segment: dict[str, list[int]] = {}
        for ref in self._refs:
            by_segment.setdefault(ref.segment.name, []).append(ref.index)
        for seg_name, indices in by_segment.items():
            seg = self._segments[seg_name]
            obs, acts = seg.column("obs"), seg.column("acts")
            n_eps = len(seg.metas)
            lengths = np.diff(seg.act_offsets)
            ends = seg.act_offsets[1:] - 1  # last action row of each episode
            done_flags = np.array(
                [m.terminated or (terminal == "done" and m.truncated) for m in seg.metas], dtype=bool
            )
            if len(indices) == n_eps:
                is_last_obs = np.zeros(len(obs), dtype=bool)
                is_last_obs[seg.obs_offsets[1:] - 1] = True
                is_first_obs = np.zeros(len(obs), dtype=bool)
                is_first_obs[seg.obs_offsets[:-1]] = True
                obs_parts.append(obs[~is_last_obs])
                next_parts.append(obs[~is_first_obs])
                act_parts.append(acts)
                dones = np.zeros(len(acts), dtype=bool)
                dones[ends] = done_flags
                done_parts.append(dones)
            else:
                idx = np.asarray(indices)
                act_rows = np.concatenate([np.arange(seg.act_offsets[i], seg.act_offsets[i + 1]) for i in idx])
                obs_rows = np.concatenate([np.arange(seg.obs_offsets[i], seg.obs_offsets[i + 1] - 1) for i in idx])
                obs_parts.append(obs[obs_rows])
                next_parts.append(obs[obs_rows + 1])
                act_parts.append(acts[act_rows])
                dones = np.zeros(int(lengths[idx].sum()), dtype=bool)
                dones[np.cumsum(lengths[idx]) - 1] = done_flags[idx]
                done_parts.append(dones)

        def join(parts: list[np.ndarray]) -> np.ndarray:
            return parts[0] if len(parts) == 1 else np.concatenate(parts)

        acts = join(act_parts)
        infos = np.empty(len(acts), dtype=object)
        infos.fill({})  # one shared empty dict: imitation only reads infos, and 1M dicts cost 100 ms
        return Transitions(obs=join(obs_parts), acts=acts, infos=infos, next_obs=join(next_parts), dones=join(done_parts))

    # ---- writing ----------------------------------------------------------------------------
    def append_episode(self, episode: Episode) -> str:
        """Commit one episode atomically; returns its id. Safe to call from several processes."""
        return self.append_episodes([episode])[0]

    def append_episodes(self, episodes: Iterable[Episode]) -> list[str]:
        """Commit many episodes as one segment: all of them become visible at once, or none."""
        return self._write_segment(list(episodes), replaces=[])

    def _write_segment(self, episodes: list[Episode], replaces: list[str]) -> list[str]:
        if not episodes:
            return []
        obs_dtype, act_dtype = storage_dtype(self.observation_space), storage_dtype(self.action_space)
        metas, obs_cols, act_cols, rew_cols, infos = [], [], [], [], []
        for n, ep in enumerate(episodes):
            where = f"dataset {self.name!r}, new episode {n}"
            ep.check_shapes(where)
            obs = np.asarray(ep.obs)
            acts = np.asarray(ep.acts)
            rews = np.asarray(ep.rews, dtype=np.float64)
            self._check_arrays(where, obs, acts, rews)
            meta = dataclasses.replace(ep.meta)
            if meta.source not in SOURCES:
                raise StoreError(f"{where}: source {meta.source!r} is not one of {', '.join(SOURCES)}")
            if meta.operator is not None:
                check_operator(meta.operator)
            meta.episode_id = meta.episode_id or uuid.uuid4().hex[:16]
            meta.env_id = meta.env_id or self.env_id
            meta.length = len(acts)
            meta.episode_return = float(rews.sum())
            meta.terminated, meta.truncated = bool(ep.terminated), bool(ep.truncated)
            meta.irlkit_version = meta.irlkit_version or __version__
            metas.append(_json_safe(meta.to_json(), f"{where}: metadata"))
            obs_cols.append(obs.astype(obs_dtype, copy=False))
            act_cols.append(acts.astype(act_dtype, copy=False).reshape((len(acts),) + self._act_shape()))
            rew_cols.append(rews)
            infos.append(_json_safe(ep.infos, f"{where}: infos") if ep.infos is not None else None)

        name = _segment_name()
        tmp = self.path / ".tmp" / name
        tmp.mkdir(parents=True)
        files = {
            "obs.npy": _save_npy(tmp / "obs.npy", np.concatenate(obs_cols)),
            "acts.npy": _save_npy(tmp / "acts.npy", np.concatenate(act_cols)),
            "rews.npy": _save_npy(tmp / "rews.npy", np.concatenate(rew_cols)),
        }
        has_infos = any(i is not None for i in infos)
        if has_infos:
            lines = "".join(json.dumps(i) + "\n" for i in infos).encode("utf-8")
            _write_file(tmp / "infos.jsonl", lines)
            files["infos.jsonl"] = {"bytes": len(lines), "sha256": hashlib.sha256(lines).hexdigest()}
        header = {
            "schema_version": SCHEMA_VERSION,
            "created_utc": utc_now(),
            "episodes": metas,
            "files": files,
            "has_infos": has_infos,
        }
        if replaces:
            header["replaces"] = replaces
        _write_file(tmp / "segment.json", (json.dumps(header, indent=1) + "\n").encode("utf-8"))
        _fsync_dir(tmp)
        (self.path / "segments").mkdir(exist_ok=True)
        os.rename(tmp, self.path / "segments" / name)
        _fsync_dir(self.path / "segments")
        self.refresh()
        return [m["episode_id"] for m in metas]

    def _act_shape(self) -> tuple[int, ...]:
        return tuple(self.action_space.shape or ())

    def _check_arrays(self, where: str, obs: np.ndarray, acts: np.ndarray, rews: np.ndarray) -> None:
        """Refuse data that does not fit the dataset's spaces, naming the first bad row."""
        obs_shape = tuple(self.observation_space.shape or ())
        if obs.shape[1:] != obs_shape:
            raise StoreError(f"{where}: field 'obs' rows have shape {obs.shape[1:]}, the dataset's observation space {describe_space(self.observation_space)} needs {obs_shape}")
        act_shape = self._act_shape()
        if acts.shape[1:] != act_shape and not (act_shape == () and acts.shape[1:] == (1,)):
            raise StoreError(f"{where}: field 'acts' rows have shape {acts.shape[1:]}, the dataset's action space {describe_space(self.action_space)} needs {act_shape}")
        for field, arr in (("obs", obs), ("acts", acts), ("rews", rews)):
            if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
                row = int(np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))[0])
                raise StoreError(f"{where}: field '{field}' has NaN or inf at step {row}")
        for field, arr, space in (("obs", obs, self.observation_space), ("acts", acts.reshape((len(acts),) + act_shape), self.action_space)):
            bad = out_of_space(space, arr)
            if len(bad):
                raise StoreError(f"{where}: field '{field}' at step {int(bad[0])} is {arr[bad[0]].tolist()}, outside the space {describe_space(space)}")

    # ---- episodes in progress (irlkit/store/journal.py) ------------------------------------------
    def start_episode(self, first_obs: Any, meta: EpisodeMeta, *, on_recover: str = "keep") -> "EpisodeJournal":
        """Begin an episode that is logged step by step (`journal.append(...)`, then `journal.commit(episode)`),
        so a writer killed mid-episode loses no step: `recover()` turns what it logged into an episode."""
        from irlkit.store.journal import EpisodeJournal

        return EpisodeJournal.start(self, first_obs, meta, on_recover=on_recover)

    def journals(self) -> list["JournalState"]:
        """Episodes in progress: being written now (`live`), or left by a writer that died."""
        from irlkit.store.journal import journals

        return journals(self)

    def recover(self) -> list[str]:
        """Commit what dead writers logged of their unfinished episodes (truncated, `extra.recovered`)."""
        from irlkit.store.journal import recover_journals

        return recover_journals(self)

    # ---- checking ---------------------------------------------------------------------------
    def check_spaces(self, observation_space: spaces.Space, action_space: spaces.Space, *, env_id: Optional[str] = None) -> None:
        """Refuse to pair this dataset with an env whose spaces differ (the usual wrong-demos mistake)."""
        for what, mine, theirs in (("observation", self.observation_space, observation_space), ("action", self.action_space, action_space)):
            if not spaces_match(mine, theirs):
                env = f"env {env_id!r}" if env_id else "the env"
                raise StoreError(
                    f"dataset {self.name!r} (recorded on {self.env_id}) has {what} space {describe_space(mine)}, "
                    f"but {env} has {describe_space(theirs)}. Pick demos recorded on this env "
                    "(`python -m irlkit.demos ls` shows each dataset's env), or the env they came from."
                )

    def verify_checksums(self) -> None:
        for seg in self._segments.values():
            for fname, info in seg.header.get("files", {}).items():
                if _sha256(seg.path / fname) != info.get("sha256"):
                    raise StoreError(
                        f"segment {seg.name}: file {fname} does not match its checksum; it was changed after it "
                        "was written. Restore it from a backup, or remove the segment folder to drop its episodes."
                    )

    def validate(self) -> list[str]:
        """Every problem found, each naming the episode and field; an empty list means sound."""
        problems: list[str] = []
        try:
            self.refresh()
            self.verify_checksums()
        except StoreError as err:
            return [str(err)]
        if not self._refs:
            problems.append(f"dataset {self.name!r} is empty: it holds no episodes")
        for j in self.journals():
            if j.error is not None:
                problems.append(f"unfinished episode in journal/{j.name} cannot be recovered: {j.error}")
            elif not j.live:
                problems.append(
                    f"unfinished episode {j.episode_id} ({j.steps} steps, operator {j.operator}) was left by a writer "
                    f"that stopped mid-episode: `python -m irlkit.demos recover {self.name}` stores it"
                )
        for k, ref in enumerate(self._refs):
            where = f"episode {k} ({ref.meta.episode_id})"
            try:
                ep = self._read(ref)
                ep.check_shapes(where)
                self._check_arrays(where, np.asarray(ep.obs), np.asarray(ep.acts), np.asarray(ep.rews))
                if abs(ep.episode_return - ref.meta.episode_return) > 1e-6 * max(1.0, abs(ep.episode_return)):
                    problems.append(f"{where}: stored return {ref.meta.episode_return} differs from the rewards' sum {ep.episode_return}")
            except StoreError as err:
                problems.append(str(err))
        return problems

    # ---- maintenance --------------------------------------------------------------------------
    def compact(self, *, stale_tmp_s: float = 3600.0) -> int:
        """Merge all segments into one (faster loading); returns how many segment folders it replaced.

        The merged segment names every segment folder on disk when it started, visible or already
        replaced, so readers never see an episode twice, and a compaction killed before removing
        the old folders cannot bring them back the next time. Compactions of one dataset take turns
        (a lock file); appenders never wait. `.tmp/` folders older than `stale_tmp_s` (left by killed
        writers) are removed too.
        """
        import fcntl

        seg_dir = self.path / "segments"
        (self.path / ".tmp").mkdir(exist_ok=True)  # a dataset copied by git has no empty folders
        with open(self.path / ".tmp" / "compact.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for p in (self.path / ".tmp").iterdir():
                try:
                    if p.name != "compact.lock" and time.time() - p.stat().st_mtime > stale_tmp_s:
                        shutil.rmtree(p, ignore_errors=True)
                except FileNotFoundError:  # a writer renamed it into segments/ just now
                    pass
            # Listed before reading: a segment appended from now on is neither merged nor replaced.
            on_disk = sorted(p.name for p in seg_dir.iterdir() if p.is_dir()) if seg_dir.exists() else []
            all_view = Dataset(self.path, self._info, include_discarded=True)
            if len(on_disk) <= 1:
                return 0
            eps = [all_view._read(ref) for ref in all_view._refs if ref.segment.name in on_disk]
            self._write_segment(eps, replaces=on_disk)
            for name in on_disk:
                shutil.rmtree(seg_dir / name, ignore_errors=True)
        self.refresh()
        return len(on_disk)

