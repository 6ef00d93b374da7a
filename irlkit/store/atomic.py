"""Durable, atomic file operations: every file and folder the store writes or removes goes through here.

The store's crash safety rests on three filesystem facts (POSIX, one filesystem):

- `os.rename` of a folder is atomic: readers see the old name or the new one, never half a folder.
  So a folder is built aside (`.tmp/`, or a dot-name beside its final place), every file in it
  fsync'd, and renamed into place (`commit_folder`, `create_folder_atomically`); and a folder is
  removed by renaming it out of sight first (`remove_folder`), so a kill in the middle of deleting
  its files leaves nothing half-removed where readers look.
- An fsync'd file and an fsync'd directory entry survive a power cut, not only a killed process.
- `os.link` fails if the name exists, which makes "write at most once" race-free (`write_once`,
  for labels).

Nothing here knows what a dataset is; `segments.py`, `dataset.py`, `preferences.py` and
`journal.py` build on these.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

TRASH_PREFIX = "trash-"
"""Name prefix of folders renamed out of sight before their files are deleted; `compact` clears
any that a killed process left."""


def unique_name() -> str:
    """A folder name that sorts by creation time; the pid and random tail keep concurrent writers apart."""
    return f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}"


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename into it, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write `data` to a new file and fsync it."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save_npy(path: Path, array: np.ndarray) -> dict[str, Any]:
    """Save one column as `.npy` (never pickled), fsync it; returns its size and sha256 for the header."""
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_once(path: Path, data: bytes, staging_dir: Path) -> bool:
    """Write a new file at `path` durably, at most once: False (nothing written) if `path` exists.

    The data is written and fsync'd under a staging name, then hard-linked to `path`; `link`
    fails if the name exists, so of two processes writing the same name exactly one wins."""
    path.parent.mkdir(exist_ok=True)
    staging_dir.mkdir(exist_ok=True)
    tmp = staging_dir / f"once-{secrets.token_hex(6)}-{path.name}"
    write_file(tmp, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def commit_folder(staging: Path, final: Path) -> None:
    """Rename a fully written (and fsync'd) folder into place in one atomic step, durably."""
    fsync_dir(staging)
    final.parent.mkdir(exist_ok=True)
    os.rename(staging, final)
    fsync_dir(final.parent)


def create_folder_atomically(path: Path, subdirs: tuple[str, ...], meta_name: str, meta: bytes) -> bool:
    """Build a folder (its subfolders and metadata file) aside, then rename it into place.

    Two processes creating the same folder at once end with one of them winning; the loser gets
    False (its staging copy removed) and opens what the winner made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / f".{path.name}.creating-{secrets.token_hex(4)}"
    for sub in subdirs:
        (staging / sub).mkdir(parents=True)
    write_file(staging / meta_name, meta)
    fsync_dir(staging)
    try:
        os.rename(staging, path)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        return False
    fsync_dir(path.parent)
    return True


def move_to_trash(path: Path, trash_dir: Path) -> Optional[Path]:
    """Rename `path` into `trash_dir` (same filesystem) in one atomic step, so it leaves its place
    whole; returns where it went, or None if it was already gone. Delete it with `delete_trash`."""
    trash_dir.mkdir(parents=True, exist_ok=True)
    trash = trash_dir / f"{TRASH_PREFIX}{path.name}-{secrets.token_hex(3)}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return None
    return trash


def remove_folder(path: Path, trash_dir: Path) -> bool:
    """Remove a folder so that no reader ever sees it half-deleted: move it into `trash_dir`, then
    delete it there. Returns False if it was already gone.

    A kill after the move leaves a `trash-*` folder nobody reads (`clear_trash` removes it); a
    kill before it leaves the folder whole."""
    trash = move_to_trash(path, trash_dir)
    if trash is None:
        return False
    delete_trash(trash)
    return True


def clear_trash(trash_dir: Path) -> None:
    """Delete what killed processes left half-removed in `trash_dir`."""
    if not trash_dir.is_dir():
        return
    for p in trash_dir.iterdir():
        if p.name.startswith(TRASH_PREFIX):
            delete_trash(p)


def delete_trash(path: Path) -> None:
    """Delete a folder `move_to_trash` moved (a link is removed, never followed)."""
    if path.is_symlink():  # a link is removed, never followed
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)
