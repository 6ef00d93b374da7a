"""The one base both dataset kinds build on: a folder of immutable, checksummed segments.

Both kinds (`Dataset` in dataset.py, `PreferenceDataset` in preferences.py) build on
`SegmentedDataset`; only what a segment holds differs (episodes, or pairs of fragments)::

    NAME/<INFO_FILE>             schema version, env id, spaces, description (dataset.json / preferences.json)
    NAME/<SEGMENT_DIR>/<name>/   one committed segment (segments/ or pairs/)
        <HEADER_FILE>            what it holds, and the size and sha256 of each file in it
        *.npy, ...               its columns
    NAME/.tmp/                   segments being written, folders being removed; never read

The rules every reader follows, and why a killed writer or compaction never leaves a dataset that
cannot be read:

- Only folders in `SEGMENT_DIR` are read. They appear whole (written in `.tmp/`, fsync'd, renamed
  in) and leave whole (renamed into `.tmp/` before their files are deleted: `atomic.remove_folder`).
- A segment may list segments it `replaces` (compaction merges them into it). Replaced segments are
  skipped before any of their files is looked at, so one that an older irlkit's killed compaction
  left half-deleted in place is ignored rather than reported as damage.
- A folder that vanishes while the listing is read was removed by a compaction, which commits its
  replacement first: the listing is simply read again.
- Each visible segment's file sizes are checked when it is first listed (a truncated file is
  refused at open); its columns' dtype, row shape and row count when they are first read; the
  sha256 of every file by `verify_checksums`.
- The store writes no symbolic links. A link inside a dataset that leads outside its folder is
  refused, so a dataset cannot make irlkit read (or compact, or delete) files elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Optional, TypeVar

import numpy as np
from gymnasium import spaces

from irlkit.errors import StoreError
from irlkit.store.atomic import commit_folder, create_folder_atomically, save_npy, sha256_bytes, unique_name, write_file
from irlkit.store.jsonio import read_json_object, to_json_bytes
from irlkit.store.segment import ColumnSpec, Segment, check_schema_version, is_inside
from irlkit.store.spaces import describe_space, space_from_json, spaces_match

_KINDS: dict[str, str] = {}
"""INFO_FILE -> KIND_NAME of every dataset kind, so each refuses a folder that holds another kind."""

D = TypeVar("D", bound="SegmentedDataset")


class _Vanished(Exception):
    """A segment folder disappeared while being listed (a compaction removed it): list again."""


class SegmentedDataset:
    """A dataset folder of immutable segments: create, open, refresh, check spaces, verify, commit.

    Subclasses set the class constants below, say which columns a segment holds
    (`_column_specs`) and rebuild their index of segments after each refresh (`_reindex`).
    """

    KIND: ClassVar[str] = "dataset"
    """How messages name a dataset of this kind ("dataset 'x' ...")."""
    KIND_NAME: ClassVar[str] = "demos dataset"
    """How messages about another kind's folder name this kind ("it is a demos dataset")."""
    INFO_FILE: ClassVar[str] = "dataset.json"
    SCHEMA_VERSION: ClassVar[int] = 1
    SEGMENT_DIR: ClassVar[str] = "segments"
    SEGMENT: ClassVar[type[Segment]] = Segment
    FOLDERS: ClassVar[tuple[str, ...]] = ("segments", ".tmp")
    SPACES_HINT: ClassVar[str] = ""
    NOT_FOUND_HINT: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _KINDS[cls.INFO_FILE] = cls.KIND_NAME

    def __init__(self, path: Path, info: dict[str, Any]):
        self.path = Path(path)
        self._info = info
        self.observation_space: spaces.Space = space_from_json(info["observation_space"])
        self.action_space: spaces.Space = space_from_json(info["action_space"])
        self._specs = self._column_specs()
        self._cache: dict[str, Segment] = {}
        self._segments: dict[str, Segment] = {}
        self.refresh()

    # ---- what subclasses define ----------------------------------------------------------------
    def _column_specs(self) -> dict[str, ColumnSpec]:
        raise NotImplementedError

    def _reindex(self) -> None:
        """Rebuild what the subclass derives from `self._segments` (after every refresh)."""

    # ---- creating and opening -------------------------------------------------------------------
    @classmethod
    def _create(cls: type[D], path: Path, info: dict[str, Any], *, exist_ok: bool) -> D:
        """Make the folder atomically (two creators: one wins, the other opens what it made)."""
        for other_file, other_kind in _KINDS.items():
            if other_file != cls.INFO_FILE and (path / other_file).exists():
                raise StoreError(
                    f"{path.name!r} at {path} is a {other_kind}, not a {cls.KIND_NAME}; choose another name"
                )
        if (path / cls.INFO_FILE).exists():
            return cls._open_existing(path, info, exist_ok)
        if not create_folder_atomically(path, cls.FOLDERS, cls.INFO_FILE, to_json_bytes(info, sort_keys=True)):
            if not (path / cls.INFO_FILE).exists():
                raise StoreError(f"cannot create a {cls.KIND} at {path}: the folder exists but is not a {cls.KIND}")
            return cls._open_existing(path, info, exist_ok)
        return cls(path, info)

    @classmethod
    def _open_existing(cls: type[D], path: Path, info: dict[str, Any], exist_ok: bool) -> D:
        if not exist_ok:
            raise StoreError(f"{cls.KIND} {path.name!r} already exists at {path}; choose another name or remove it")
        existing = cls.open(path)
        existing.check_spaces(
            space_from_json(info["observation_space"]), space_from_json(info["action_space"]), env_id=info["env_id"]
        )
        return existing

    @classmethod
    def open(cls: type[D], path: os.PathLike | str) -> D:
        """Open a dataset folder: its metadata is checked, its segments listed and their sizes checked."""
        path = Path(path)
        if not (path / cls.INFO_FILE).exists():
            what = next((f"a {k}" for f, k in _KINDS.items() if f != cls.INFO_FILE and (path / f).exists()), None)
            hint = (
                f"it is {what}"
                if what
                else ("it has no " + cls.INFO_FILE + ("" if path.exists() else " (no such folder)"))
            )
            raise StoreError(f"{path} is not an irlkit {cls.KIND}: {hint}. {cls.NOT_FOUND_HINT}".rstrip())
        what = f"{cls.KIND} {path.name!r}"
        info = read_json_object(path / cls.INFO_FILE, what)
        check_schema_version(info.get("schema_version"), what=what, newest=cls.SCHEMA_VERSION)
        for key in ("env_id", "observation_space", "action_space"):
            if key not in info:
                raise StoreError(f"{what}: {cls.INFO_FILE} has no {key!r}; the file is damaged")
        return cls(path, info)

    # ---- listing segments -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the segment list: picks up what other writers committed since opening."""
        for _ in range(1000):
            try:
                self._segments = self._list_segments()
                break
            except _Vanished:
                continue
        else:  # pragma: no cover - a compaction would have to finish a thousand times during one listing
            raise StoreError(f"{self.KIND} {self.name!r}: its segments kept changing while being listed; try again")
        self._reindex()

    def _list_segments(self) -> dict[str, Segment]:
        seg_dir = self.path / self.SEGMENT_DIR
        names: list[str] = []
        if seg_dir.is_dir():
            with os.scandir(seg_dir) as entries:
                names = sorted(e.name for e in entries if e.is_dir())
        found: dict[str, Segment] = {}
        broken: dict[str, StoreError] = {}
        for name in names:
            seg = self._cache.get(name)
            if seg is None:
                try:
                    seg = self._read_segment(seg_dir / name)
                except StoreError as err:
                    if not os.path.lexists(seg_dir / name):
                        raise _Vanished() from None
                    broken[name] = err
                    continue
            found[name] = seg
        replaced = {r for seg in found.values() for r in seg.replaces}
        for name, error in broken.items():
            if name not in replaced:  # a replaced folder is never read, however damaged
                raise error
        visible: dict[str, Segment] = {}
        for name, seg in found.items():
            if name in replaced:
                continue
            if not seg.checked:
                seg.merged_on_disk = sum(1 for r in seg.replaces if r in found or r in broken)
                damage = seg.file_problem(self.path)
                if damage is not None:
                    if not os.path.lexists(seg_dir / name):
                        raise _Vanished()
                    raise StoreError(damage)
                seg.checked = True
            visible[name] = seg
        self._cache = found
        return visible

    def _read_segment(self, path: Path) -> Segment:
        where = f"{self.SEGMENT.KIND} {path.name}"
        if path.is_symlink() and not is_inside(path, self.path):
            raise StoreError(
                f"{where} of {self.KIND} {self.name!r} is a symbolic link to {os.path.realpath(path)}, outside the "
                "dataset's folder; the store writes no links, so it was put there by hand. Remove the link "
                f"({path}), or copy the folder it points to in its place (cp -rL)."
            )
        header = read_json_object(path / self.SEGMENT.HEADER_FILE, where)
        check_schema_version(header.get("schema_version"), what=where, newest=self.SCHEMA_VERSION)
        return self.SEGMENT(path, header, self._specs)

    # ---- metadata ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def env_id(self) -> str:
        return str(self._info["env_id"])

    @property
    def description(self) -> str:
        return str(self._info.get("description", ""))

    def check_spaces(
        self, observation_space: spaces.Space, action_space: spaces.Space, *, env_id: Optional[str] = None
    ) -> None:
        """Refuse to pair this dataset with an env whose spaces differ (the usual wrong-data mistake)."""
        for what, mine, theirs in (
            ("observation", self.observation_space, observation_space),
            ("action", self.action_space, action_space),
        ):
            if not spaces_match(mine, theirs):
                env = f"env {env_id!r}" if env_id else "the env"
                ours, yours = describe_space(mine), describe_space(theirs)
                if ours == yours and isinstance(mine, spaces.Box) and isinstance(theirs, spaces.Box):
                    # same shape and dtype: the bounds are what differs (seals CartPole-v0 vs CartPole-v1)
                    ours, yours = f"{ours} {_bounds(mine)}", f"{yours} {_bounds(theirs)}"
                raise StoreError(
                    f"{self.KIND} {self.name!r} (recorded on {self.env_id}) has {what} space {ours}, "
                    f"but {env} has {yours}. {self.SPACES_HINT}".rstrip()
                )

    def verify_checksums(self) -> None:
        """Check every file's sha256 against its segment's header (reads every byte)."""
        for seg in self._segments.values():
            problem = seg.checksum_problem()
            if problem is not None:
                raise StoreError(problem)

    # ---- writing ----------------------------------------------------------------------------------
    def _commit_segment(
        self, columns: dict[str, np.ndarray], header: dict[str, Any], extra_files: Optional[dict[str, bytes]] = None
    ) -> str:
        """Write a segment in `.tmp/`, fsync every file, rename it into place; returns its name."""
        name = unique_name()
        tmp = self.path / ".tmp" / name
        tmp.mkdir(parents=True)
        files = {f"{c}.npy": save_npy(tmp / f"{c}.npy", arr) for c, arr in columns.items()}
        for fname, data in (extra_files or {}).items():
            write_file(tmp / fname, data)
            files[fname] = {"bytes": len(data), "sha256": sha256_bytes(data)}
        full = {"schema_version": self.SCHEMA_VERSION, **header, "files": files}
        write_file(tmp / self.SEGMENT.HEADER_FILE, to_json_bytes(full))
        commit_folder(tmp, self.path / self.SEGMENT_DIR / name)
        return name


def _bounds(box: spaces.Box) -> str:
    """`low [...], high [...]` of a Box, four significant digits a bound, for error messages."""

    def fmt(a: np.ndarray) -> str:
        return "[" + ", ".join(f"{float(v):.4g}" for v in np.ravel(a)) + "]"

    return f"with low {fmt(box.low)}, high {fmt(box.high)}"
