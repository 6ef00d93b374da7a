"""Compaction is safe at every point it can be killed, and readers keep reading while it runs.

The kill tests fork the test process and kill the child at each of its filesystem-changing calls
in turn (rename, link, unlink, rmdir, mkdir, fsync, write), so every removal point is hit, not
only the ones a random timer happens to land on. `bench/kill_test.py` does the same at random
points, with SIGKILL and SIGTERM, for appenders and journals too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from irlkit.errors import StoreError
from irlkit.store import Dataset, Episode, EpisodeMeta

REPO = Path(__file__).resolve().parent.parent
FS_OPS = ("rename", "replace", "link", "unlink", "remove", "rmdir", "mkdir", "fsync", "write")


def _dataset(path: Path, segments: int, seed: int = 0) -> Dataset:
    ds = Dataset.create(
        path,
        env_id="test-v0",
        observation_space=spaces.Box(-1.0, 1.0, (4,), np.float32),
        action_space=spaces.Discrete(2),
    )
    rng = np.random.default_rng(seed)
    for k in range(segments):
        t = int(rng.integers(3, 30))
        ds.append_episode(
            Episode(
                obs=rng.uniform(-1, 1, (t + 1, 4)).astype(np.float32),
                acts=rng.integers(0, 2, t),
                rews=np.full(t, float(k)),
                truncated=True,
                meta=EpisodeMeta(source="script"),
            )
        )
    return ds


class _Counter:
    """Wraps the os calls that change the filesystem; calls `on_call(n)` before the n-th one."""

    def __init__(self, monkeypatch, on_call):
        self.n = 0
        for name in FS_OPS:
            real = getattr(os, name)
            monkeypatch.setattr(os, name, self._wrap(real, on_call))

    def _wrap(self, real, on_call):
        def op(*args, **kwargs):
            on_call(self.n)
            self.n += 1
            return real(*args, **kwargs)

        return op


def _compact_killed_at(path: Path, k: int, sig: int) -> int:
    """Fork; the child compacts `path` and sends itself `sig` just before its k-th filesystem call."""
    pid = os.fork()
    if pid == 0:  # the child: no pytest cleanup may run here
        try:
            with pytest.MonkeyPatch.context() as mp:
                _Counter(mp, lambda n: os.kill(os.getpid(), sig) if n == k else None)
                Dataset.open(path).compact()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


def _ops_of_one_compaction(path: Path) -> int:
    with pytest.MonkeyPatch.context() as mp:
        counter = _Counter(mp, lambda n: None)
        Dataset.open(path).compact()
    return counter.n


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_kill_at_any_file_operation_of_compact_loses_nothing_and_leaves_it_readable(tmp_path, sig):
    template = _dataset(tmp_path / "template", segments=3)
    expected = sorted(m.episode_id for m in template.metas)
    shutil.copytree(template.path, tmp_path / "count")
    n_ops = _ops_of_one_compaction(tmp_path / "count")
    assert n_ops > 20  # merged segment written and committed, three folders moved out and deleted
    removal_kills = 0
    points = range(n_ops) if sig == signal.SIGKILL else range(0, n_ops, 2)  # the same path: no handler for either
    for k in points:
        path = tmp_path / f"k{k}"
        shutil.copytree(template.path, path)
        status = _compact_killed_at(path, k, sig)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig, f"op {k}: the child was not killed"
        segments = [
            json.loads((p / "segment.json").read_text())
            for p in (path / "segments").iterdir()
            if (p / "segment.json").exists()
        ]
        removal_kills += any("replaces" in h for h in segments) and len(segments) > 1
        ds = Dataset.open(path, verify=True)  # readable, whatever was half-done
        assert sorted(m.episode_id for m in ds.metas) == expected, f"op {k}: episodes lost or doubled"
        assert ds.validate() == [], f"op {k}"
        Dataset.open(path).compact()  # the next compaction finishes the job ...
        after = Dataset.open(path, verify=True)
        assert sorted(m.episode_id for m in after.metas) == expected and after.validate() == []
        assert len(list((path / "segments").iterdir())) == 1  # ... and clears what the killed one left
        assert not list((path / ".tmp").glob("trash-*"))
        shutil.rmtree(path)
    assert removal_kills >= (
        3 if sig == signal.SIGKILL else 1
    )  # kills landed between the merged commit and the last removal


def test_a_replaced_segment_an_older_compaction_half_deleted_in_place_is_skipped(tmp_path):
    """Issue 15's reproduction: an older irlkit deleted replaced folders in place, and a kill in
    the middle left one without some of its files; every command then refused the dataset."""
    ds = _dataset(tmp_path / "old", segments=3)
    expected = sorted(m.episode_id for m in ds.metas)
    old = sorted(p.name for p in (ds.path / "segments").iterdir())
    ds.write_segment(list(ds.episodes()), replaces=old)  # the merged segment, committed ...
    half = ds.path / "segments" / old[1]
    (half / "acts.npy").unlink()  # ... and one replaced folder half-deleted
    (half / "segment.json").unlink()
    ds = Dataset.open(ds.path, verify=True)
    assert sorted(m.episode_id for m in ds.metas) == expected and ds.validate() == []
    assert ds.compact() == len(old) + 1 and len(list((ds.path / "segments").iterdir())) == 1
    assert sorted(m.episode_id for m in Dataset.open(ds.path).metas) == expected


def test_a_damaged_compacted_segment_says_what_removing_it_brings_back(tmp_path):
    ds = _dataset(tmp_path / "d", segments=3)
    old = sorted(p.name for p in (ds.path / "segments").iterdir())
    ds.write_segment(list(ds.episodes()), replaces=old)
    merged = next(p for p in (ds.path / "segments").iterdir() if p.name not in old)
    data = (merged / "obs.npy").read_bytes()
    (merged / "obs.npy").write_bytes(data[:-8])
    with pytest.raises(
        StoreError,
        match=r"compacted segment whose merged segments are still on disk \(3 of 3\): "
        r"removing its folder .* brings those back, and nothing is lost",
    ):
        Dataset.open(ds.path)
    shutil.rmtree(ds.path / "segments" / old[0])  # one of them gone: removing the merged one would lose it
    with pytest.raises(StoreError, match=r"\(2 of 3\).*the episodes of the other 1 are lost"):
        Dataset.open(ds.path)


def test_compaction_refuses_to_merge_a_tampered_segment(tmp_path):
    """Merging would give the changed bytes a fresh, valid checksum: the damage must stay visible."""
    ds = _dataset(tmp_path / "t", segments=3)
    seg = sorted((ds.path / "segments").iterdir())[1]
    rews = np.load(seg / "rews.npy")
    rews[0] += 1.0
    np.save(seg / "rews.npy", rews)  # same size, different bytes
    with pytest.raises(StoreError, match="not compacted: segment .* does not match its checksum"):
        Dataset.open(ds.path).compact()
    assert len(list((ds.path / "segments").iterdir())) == 3


def test_leftovers_of_killed_writers_are_cleared_by_the_next_compaction(tmp_path):
    ds = _dataset(tmp_path / "l", segments=2)
    (ds.path / ".tmp" / "trash-x-abc").mkdir()  # a removal killed after its rename
    (ds.path / ".tmp" / "trash-x-abc" / "obs.npy").write_bytes(b"partial")
    stale = ds.path / ".tmp" / "00000000000000000001-1-abcdef"  # a writer killed long ago
    stale.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = ds.path / ".tmp" / "99999999999999999999-1-abcdef"  # a writer at work now
    fresh.mkdir()
    assert ds.compact() == 2
    assert sorted(p.name for p in (ds.path / ".tmp").iterdir()) == ["99999999999999999999-1-abcdef", "compact.lock"]


_COMPACTING_CHILD = textwrap.dedent("""
    import sys
    from irlkit.store import Dataset
    ds = Dataset.open(sys.argv[1])
    print("ready", flush=True)
    print(ds.compact(), flush=True)
""")


def test_readers_see_every_episode_once_while_another_process_compacts(tmp_path):
    ds = _dataset(tmp_path / "r", segments=60)
    expected = sorted(m.episode_id for m in ds.metas)
    reader = Dataset.open(ds.path)
    proc = subprocess.Popen(
        [sys.executable, "-c", _COMPACTING_CHILD, str(ds.path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    reads = 0
    while proc.poll() is None:
        reader.refresh()
        assert sorted(m.episode_id for m in reader.metas) == expected
        reads += 1
    assert proc.wait() == 0 and proc.stdout.read().strip() == "60"
    reader.refresh()
    assert sorted(m.episode_id for m in reader.metas) == expected and reads > 0


def test_a_reader_that_missed_a_compaction_is_told_to_refresh(tmp_path):
    ds = _dataset(tmp_path / "m", segments=3)
    stale = Dataset.open(ds.path)  # listed, columns not read yet
    Dataset.open(ds.path).compact()
    with pytest.raises(StoreError, match="merged into another segment by `compact`.*refresh"):
        stale.episode(0)
    stale.refresh()
    assert len(list(stale.episodes())) == 3


@pytest.mark.slow
def test_the_kill_test_script_runs_and_finds_nothing_wrong(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "bench/kill_test.py",
            "--what",
            "append",
            "journal",
            "compact",
            "--kills",
            "2",
            "--signals",
            "TERM",
            "--workdir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert {(r["victim"], r["at"]) for r in rows} == {
        (v, m) for v in ("append", "journal", "compact") for m in ("time", "op")
    }
    assert all(r["kills"] == 2 and r["unreadable"] == 0 and r["lost"] == 0 for r in rows)
