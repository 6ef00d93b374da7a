"""Merging a dataset's segments into one, safely at every point a process can be killed.

A dataset appended one episode at a time (the teleop recorder does this) has a segment per
episode; each costs about 0.4 ms to open, so thousands of them slow every load. `compact` writes
one segment holding every episode, then removes the old ones. The order makes every moment safe:

1. The old segments are listed, and their checksums verified (merging a tampered file would give
   its bytes a fresh, valid checksum).
2. The merged segment is written in `.tmp/` and renamed into `segments/` (atomic). Its header
   names every folder listed in step 1 (`replaces`), visible or already replaced, so from this
   instant readers skip the old folders, and a kill before step 3 ends cannot bring them back.
3. Each old folder is renamed into `.tmp/` (atomic) and only then deleted, so no reader ever sees
   a half-deleted segment; a kill mid-deletion leaves a `trash-*` folder that the next compaction
   clears. (Readers also skip replaced folders before looking at their files, which keeps datasets
   that an older irlkit's killed compaction left half-deleted in place readable.)

Compactions of one dataset take turns (an `flock` on `.tmp/compact.lock`); appenders never wait: a
segment committed after step 1 is neither merged nor replaced. `bench/kill_test.py --what compact`
kills compactions at random points and checks that nothing is lost or unreadable; the tests kill
one at each of its file operations.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from typing import TYPE_CHECKING

from irlkit.errors import StoreError
from irlkit.store.atomic import TRASH_PREFIX, clear_trash, remove_folder

if TYPE_CHECKING:
    from irlkit.store.dataset import Dataset

LOCK_NAME = "compact.lock"


def _clear_leftovers(tmp, stale_tmp_s: float) -> None:
    """Trash of killed removals, and folders of writers killed more than `stale_tmp_s` ago."""
    clear_trash(tmp)
    for p in tmp.iterdir():
        if p.name == LOCK_NAME or p.name.startswith(TRASH_PREFIX):
            continue
        try:
            if time.time() - p.stat().st_mtime > stale_tmp_s:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        except FileNotFoundError:  # a writer renamed it into segments/ just now
            pass


def compact(ds: "Dataset", *, stale_tmp_s: float = 3600.0) -> int:
    """Merge every segment of `ds` into one; returns how many segment folders it replaced (0: nothing to do)."""
    from irlkit.store.dataset import Dataset

    seg_dir, tmp = ds.path / "segments", ds.path / ".tmp"
    tmp.mkdir(exist_ok=True)  # a dataset copied by git has no empty folders
    with open(tmp / LOCK_NAME, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _clear_leftovers(tmp, stale_tmp_s)
        # Listed before reading: a segment appended from now on is neither merged nor replaced.
        on_disk = sorted(p.name for p in seg_dir.iterdir() if p.is_dir()) if seg_dir.exists() else []
        if len(on_disk) <= 1:
            return 0
        every = Dataset(ds.path, ds.info, include_discarded=True)
        merged = [(seg, indices) for seg, indices in every.selected_segments() if seg.name in on_disk]
        for seg, _ in merged:
            problem = seg.checksum_problem()
            if problem is not None:
                raise StoreError(f"dataset {ds.name!r} is not compacted: {problem}")
        episodes = [every.read_episode(seg, i) for seg, indices in merged for i in indices]
        ds.write_segment(episodes, replaces=on_disk)
        for name in on_disk:
            remove_folder(seg_dir / name, tmp)
    ds.refresh()
    return len(on_disk)
