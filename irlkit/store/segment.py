"""One committed segment folder: immutable, checksummed, read lazily and refused when it lies.

A segment is what both dataset kinds commit (episodes in `segments/`, pairs of fragments in
`pairs/`): a header (`segment.json` / `batch.json`) that lists each file's size and sha256, and
per-column `.npy` files. `Segment` checks what every segment must satisfy; subclasses
(`EpisodeSegment`, `PairBatch`) check what their header holds and how many rows each column has.

When each thing is checked (so that a damaged or hostile dataset is refused with one paragraph,
never a traceback from numpy or torch later):
- the header's fields when the folder is first listed (base.py), its file sizes and links then too;
- a column's dtype, row shape and row count when it is first read (memory-mapped if large);
- every file's sha256 by `checksum_problem` (`verify`, `validate`, and training's `check`).
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from irlkit import __version__
from irlkit.errors import SchemaVersionError, StoreError
from irlkit.store.atomic import sha256_file

SMALL_FILE = 1 << 18
"""Columns smaller than this (256 KiB) are read into memory rather than memory-mapped: mapping a
small file costs more than reading it, and a segment per recorded episode is common."""


def check_schema_version(value: Any, *, what: str, newest: int) -> None:
    """Refuse metadata from a newer irlkit (upgrade) or whose version field is not a version (damage)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StoreError(
            f"{what} has schema_version {value!r}, which is not a version number (a whole number such as "
            f"{newest}, without quotes); the file was edited or damaged. Restore it from a backup, or set "
            f"schema_version back to the number it was written with (this irlkit writes {newest})."
        )
    if value > newest:
        raise SchemaVersionError(
            f"{what} was written with store schema version {value}, but this irlkit ({__version__}) reads up "
            f"to version {newest}. Upgrade irlkit (pip install -U irlkit) to read it."
        )


def is_inside(path: Path, folder: Path) -> bool:
    """Whether `path`, links resolved, lies inside `folder` (links resolved)."""
    return path.resolve().is_relative_to(folder.resolve())


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    """What one column must look like: its dtype and row shape come from the dataset's spaces."""

    dtype: np.dtype
    row_shape: tuple[int, ...]
    space: str
    """How the space is named in messages ("observation space Box(4,) float32")."""


class Segment:
    """One committed, immutable segment folder: its header, and its columns read on first use.

    Subclasses say what the header holds (`_parse`), which files it must list and how many rows
    each column has."""

    HEADER_FILE: ClassVar[str] = "segment.json"
    KIND: ClassVar[str] = "segment"
    UNIT: ClassVar[str] = "episodes"

    def __init__(self, path: Path, header: dict[str, Any], specs: dict[str, ColumnSpec]):
        self.path = path
        self.header = header
        self.specs = specs
        self.count: Optional[int] = None
        """How many episodes (or pairs) it holds; set by `_parse`."""
        self.files: dict[str, dict[str, Any]] = self._parse_files()
        self.replaces: list[str] = self._parse_replaces()
        self.checked = False
        """Its file sizes were found right (done once: a committed segment never changes)."""
        self.merged_on_disk = 0
        """How many of the segments it replaces are still on disk (set by the listing, for messages)."""
        self._columns: dict[str, np.ndarray] = {}
        self._parse()

    @property
    def name(self) -> str:
        return self.path.name

    def where(self) -> str:
        return f"{self.KIND} {self.name}"

    def _damaged(self, what: str) -> StoreError:
        return StoreError(
            f"{self.where()}: {self.HEADER_FILE} {what}; the file was edited or damaged. {self.fix_hint()}"
        )

    # ---- what subclasses define ----------------------------------------------------------------
    def _parse(self) -> None:
        """Check and keep the kind-specific header fields (and set `count`); raise `_damaged(...)` if wrong."""

    def required_files(self) -> list[str]:
        return [f"{c}.npy" for c in self.specs]

    def rows(self, column: str) -> int:
        """How many rows `column` must have, from the header."""
        raise NotImplementedError

    # ---- header fields every segment has ---------------------------------------------------------
    def _parse_files(self) -> dict[str, dict[str, Any]]:
        files = self.header.get("files")
        if not isinstance(files, dict):
            raise self._damaged("has no 'files' table (each file's size and sha256)")
        for fname, info in files.items():
            if (
                not isinstance(info, dict)
                or isinstance(info.get("bytes"), bool)
                or not isinstance(info.get("bytes"), int)
                or not isinstance(info.get("sha256"), str)
                or "/" in fname
                or fname.startswith(".")
            ):
                raise self._damaged(f"has a malformed entry for {fname!r} in its 'files' table")
        return files

    def _parse_replaces(self) -> list[str]:
        replaces = self.header.get("replaces", [])
        if not isinstance(replaces, list) or not all(isinstance(r, str) for r in replaces):
            raise self._damaged("has a 'replaces' entry that is not a list of segment names")
        return [r for r in replaces if r != self.name]

    def fix_hint(self) -> str:
        """What a user can do about a damaged segment (the advice depends on what removing it does)."""
        if self.merged_on_disk:  # a compaction killed before it removed what it merged
            gone = len(self.replaces) - self.merged_on_disk
            rest = "nothing is lost" if not gone else f"the episodes of the other {gone} are lost"
            return (
                f"Restore it from a backup. It is a compacted segment whose merged segments are still on disk "
                f"({self.merged_on_disk} of {len(self.replaces)}): removing its folder ({self.path}) brings those "
                f"back, and {rest}."
            )
        n = "its contents" if self.count is None else f"its {self.count} {self.UNIT}"
        return f"Restore it from a backup, or remove the segment folder ({self.path}) to drop {n}."

    # ---- files --------------------------------------------------------------------------------
    def file_problem(self, dataset_root: Path) -> Optional[str]:
        """Why this segment's files cannot be trusted (sizes, missing entries, links out), or None."""
        for fname in self.required_files():
            if fname not in self.files:
                return (
                    f"{self.where()}: {self.HEADER_FILE} lists no size and checksum for {fname}; the header was "
                    f"edited or damaged. {self.fix_hint()}"
                )
        for fname, info in self.files.items():
            fpath = self.path / fname
            try:
                st = os.lstat(fpath)
                if stat.S_ISLNK(st.st_mode):
                    if not is_inside(fpath, dataset_root):
                        return (
                            f"{self.where()}: file {fname} is a symbolic link to {os.path.realpath(fpath)}, outside "
                            f"the dataset's folder; the store writes no links, so it was put there by hand. Replace "
                            f"it by the file itself (cp -L), or remove the segment folder ({self.path})."
                        )
                    st = os.stat(fpath)
            except FileNotFoundError:
                return f"{self.where()}: file {fname} is missing. {self.fix_hint()}"
            if st.st_size != info["bytes"]:
                return (
                    f"{self.where()}: file {fname} has {st.st_size} bytes, expected {info['bytes']}; it was truncated "
                    f"or changed after it was written. {self.fix_hint()}"
                )
        return None

    def checksum_problem(self) -> Optional[str]:
        for fname, info in self.files.items():
            try:
                digest = sha256_file(self.path / fname)
            except FileNotFoundError:
                return f"{self.where()}: file {fname} is missing. {self.fix_hint()}"
            if digest != info["sha256"]:
                return (
                    f"{self.where()}: file {fname} does not match its checksum; it was changed after it was written. "
                    f"{self.fix_hint()}"
                )
        return None

    def column(self, name: str) -> np.ndarray:
        """A read-only column, refused unless its dtype, row shape and row count are what the header says."""
        if name in self._columns:
            return self._columns[name]
        spec, fname = self.specs[name], f"{name}.npy"
        path = self.path / fname
        try:
            if self.files.get(fname, {}).get("bytes", 0) < SMALL_FILE:
                arr = np.load(path, allow_pickle=False)
                arr.flags.writeable = False
            else:
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            if not self.path.exists():
                raise StoreError(
                    f"{self.where()} was merged into another segment by `compact` (in another process) after this "
                    "dataset was read; call its refresh() or open it again."
                ) from None
            raise StoreError(f"{self.where()}: file {fname} is missing. {self.fix_hint()}") from None
        except (ValueError, OSError) as err:
            raise StoreError(
                f"{self.where()}: file {fname} cannot be read ({err}); it is damaged. Run `python -m irlkit.demos "
                f"validate` for details. {self.fix_hint()}"
            ) from None
        if arr.dtype != spec.dtype or arr.shape[1:] != spec.row_shape:
            raise StoreError(
                f"{self.where()}: file {fname} holds rows of shape {arr.shape[1:]} and dtype {arr.dtype}, but the "
                f"dataset's {spec.space} needs shape {spec.row_shape} and dtype {spec.dtype}; the file was replaced "
                f"by hand, or the space in the dataset's metadata was edited. {self.fix_hint()}"
            )
        if arr.ndim == 0 or len(arr) != self.rows(name):
            rows = "no" if arr.ndim == 0 else len(arr)
            raise StoreError(
                f"{self.where()}: file {fname} has {rows} rows, but the lengths in {self.HEADER_FILE} need "
                f"{self.rows(name)}; the header or the file was edited. {self.fix_hint()}"
            )
        self._columns[name] = arr
        return arr
