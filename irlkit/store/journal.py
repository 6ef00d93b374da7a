"""Write-ahead journals: an episode in progress, step by step, so a killed writer loses no step.

Segments (dataset.py) are written once, when an episode ends. That is right for finished data,
but a person correcting a learner, or recording a long demonstration, has given labels long before
the episode ends; a SIGKILL, a power cut of the terminal or an out-of-memory kill would take them
with it. A journal is the episode in progress kept on disk as it grows:

    NAME/journal/<name>/header.json   the episode's metadata and id, written before the first step
        obs.bin acts.bin rews.bin     raw rows in the dataset's storage dtypes, appended per step
        infos.jsonl                   one JSON line per step (when the writer gives infos)

Each step is a few `os.write` calls on files opened for appending: microseconds, no fsync. That
survives the writer's process being killed (the kernel keeps what was written); it does not promise
survival of a power loss mid-episode, which would need an fsync per step. `commit` turns the
journal into a normal segment with the same episode id and removes it.

While the writer lives it holds an exclusive `flock` on `header.json`; the kernel drops the lock
when the process dies, however it dies. `recover_journals` converts every journal whose lock it can
take into an episode (truncated, `extra.recovered = true`) and skips live ones, so it is safe to
call at any time from any process: a correction session calls it when it starts, and
`python -m irlkit.demos recover NAME` does it by hand.

Committing is two steps that no filesystem makes one: the episode's segment is renamed into
`segments/`, then the journal is removed. A writer killed between the two leaves a journal whose
episode is already stored. That journal is not an unfinished episode: `journals()` does not list
it (and `validate` does not report it), and `recover_journals` just removes it, so nothing is
counted twice or reported as lost. Whether a dead journal's episode is stored is decided while
holding its lock, after the writer's lock is gone, so the writer's commit (which happens while
it holds the lock) is always seen. A journal leaves in one atomic step (renamed into `.tmp/`
while still locked, then deleted), so no reader sees it half-removed or unlocked-but-unfinished.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import numpy as np

from irlkit.errors import StoreError
from irlkit.store.atomic import delete_trash, move_to_trash, unique_name
from irlkit.store.episode import Episode, EpisodeMeta
from irlkit.store.jsonio import json_safe
from irlkit.store.spaces import storage_dtype

JOURNAL_DIR = "journal"
RECOVER_POLICIES = ("keep", "discard")
"""What a recovered episode becomes: `keep` (a normal, truncated episode: corrections, whose every
step is a label) or `discard` (stored but skipped by loaders: a half-recorded demonstration)."""


def _row_shape(space: Any) -> tuple[int, ...]:
    return tuple(space.shape or ())


def _obs_bytes(dataset: Any, obs: Any) -> bytes:
    row = np.asarray(obs).astype(storage_dtype(dataset.observation_space), copy=False)
    if row.shape != _row_shape(dataset.observation_space):
        raise StoreError(
            f"dataset {dataset.name!r}: observation of shape {row.shape} does not fit the dataset's "
            f"observation shape {_row_shape(dataset.observation_space)}"
        )
    return np.ascontiguousarray(row).tobytes()


class EpisodeJournal:
    """The on-disk log of one episode in progress; create with `EpisodeJournal.start`."""

    def __init__(self, dataset: Any, path: Path, header: dict[str, Any], lock_fd: int):
        self.dataset = dataset
        self.path = path
        self.header = header
        self._lock_fd = lock_fd
        self._act_dtype = storage_dtype(dataset.action_space)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self._fds = {
            name: os.open(path / name, flags, 0o644) for name in ("obs.bin", "acts.bin", "rews.bin", "infos.jsonl")
        }
        self.steps = 0
        self.closed = False

    @property
    def episode_id(self) -> str:
        return str(self.header["meta"]["episode_id"])

    @classmethod
    def start(cls, dataset: Any, first_obs: Any, meta: EpisodeMeta, *, on_recover: str = "keep") -> "EpisodeJournal":
        """Open a journal for a new episode of `dataset` whose first observation is `first_obs`."""
        if on_recover not in RECOVER_POLICIES:
            raise StoreError(f"on_recover={on_recover!r}: choose one of {', '.join(RECOVER_POLICIES)}")
        meta = dataclasses.replace(meta)
        meta.episode_id = meta.episode_id or uuid.uuid4().hex[:16]
        header = {
            "meta": json_safe(meta.to_json(), f"dataset {dataset.name!r}, journal metadata"),
            "on_recover": on_recover,
            "pid": os.getpid(),
            "started": time.time(),
        }
        first_row = _obs_bytes(dataset, first_obs)  # refuse a wrong shape before anything is on disk
        name = unique_name()
        staging = dataset.path / ".tmp" / f"journal-{name}"
        staging.mkdir(parents=True)
        with open(staging / "header.json", "w", encoding="utf-8") as f:
            json.dump(header, f)
        (staging / "obs.bin").write_bytes(first_row)
        lock_fd = os.open(staging / "header.json", os.O_RDONLY)
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        final = dataset.path / JOURNAL_DIR / name
        final.parent.mkdir(exist_ok=True)
        os.rename(staging, final)  # appears whole, and already locked
        return cls(dataset, final, header, lock_fd)

    def append(self, act: Any, rew: float, next_obs: Any, info: Optional[dict[str, Any]] = None) -> None:
        """Log one step: the action taken, its reward, the observation it led to, and its info."""
        if self.closed:
            raise StoreError(f"journal {self.path.name} is closed; start a new episode")
        act_row = np.asarray(act).astype(self._act_dtype, copy=False).reshape(_row_shape(self.dataset.action_space))
        line = json.dumps(json_safe(info if info is not None else {}, "step info")) + "\n"
        # Order matters for recovery: a kill between writes leaves fewer rows in the later files,
        # and recovery keeps the steps complete in all of them.
        os.write(self._fds["obs.bin"], _obs_bytes(self.dataset, next_obs))
        os.write(self._fds["acts.bin"], np.ascontiguousarray(act_row).tobytes())
        os.write(self._fds["rews.bin"], np.float64(rew).tobytes())
        os.write(self._fds["infos.jsonl"], line.encode("utf-8"))
        self.steps += 1

    def commit(self, episode: Episode) -> str:
        """Store `episode` (the same steps, finished) as a segment under this journal's id; remove the journal."""
        if self.closed:
            raise StoreError(f"journal {self.path.name} is closed")
        episode.meta = dataclasses.replace(episode.meta, episode_id=self.episode_id)
        episode_id = self.dataset.append_episode(episode)
        self.abandon()
        return episode_id

    def abandon(self) -> None:
        """Drop the journal (the episode is committed, or thrown away on purpose).

        It is moved out of `journal/` while its lock is still held, so no recoverer can take the
        lock of a journal that is being dropped and store it."""
        if self.closed:
            return
        trash = move_to_trash(self.path, self.dataset.path / ".tmp")
        self._close_files()
        if trash is not None:
            delete_trash(trash)

    def _close_files(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}
        os.close(self._lock_fd)  # releases the flock
        self.closed = True

    def __del__(self) -> None:  # a writer that forgets to commit leaves a recoverable journal behind
        if not getattr(self, "closed", True):
            try:
                self._close_files()
            except OSError:
                pass


@dataclasses.dataclass
class JournalState:
    """What a journal holds, as `journals()` reports it."""

    name: str
    episode_id: str
    steps: int
    live: bool
    """Its writer still holds the lock (the episode is being recorded now)."""
    operator: Optional[str]
    started_utc: Optional[str]
    error: Optional[str] = None
    """Why it cannot be read (a damaged header); recovery skips it and `validate` reports it."""


class _Gone(Exception):
    """The journal folder vanished while being looked at (its writer committed or dropped it)."""


def _try_lock(path: Path) -> Optional[int]:
    """A locked fd on `path/header.json` when no live writer holds it; None when one does."""
    try:
        fd = os.open(path / "header.json", os.O_RDONLY)
    except FileNotFoundError:
        if not path.exists():
            raise _Gone() from None
        raise StoreError(f"journal {path}: header.json is missing; remove the folder by hand") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _read(dataset: Any, path: Path) -> tuple[dict[str, Any], Optional[Episode]]:
    """The journal's header and its complete steps as an episode (None with no complete step)."""
    try:
        return _read_files(dataset, path)
    except FileNotFoundError:
        if not path.exists():
            raise _Gone() from None
        raise StoreError(f"journal {path}: a file of it is missing; remove the folder by hand") from None
    except OSError as err:
        raise StoreError(f"journal {path}: cannot be read ({err}); remove the folder by hand") from None


def _read_files(dataset: Any, path: Path) -> tuple[dict[str, Any], Optional[Episode]]:
    try:
        header = json.loads((path / "header.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise StoreError(f"journal {path}: header.json is unreadable ({err}); remove the folder by hand") from None
    if not isinstance(header, dict) or not isinstance(header.get("meta"), dict):
        raise StoreError(f"journal {path}: header.json holds no episode metadata; remove the folder by hand")
    obs_shape, act_shape = _row_shape(dataset.observation_space), _row_shape(dataset.action_space)
    obs_dtype, act_dtype = storage_dtype(dataset.observation_space), storage_dtype(dataset.action_space)

    def data(name: str) -> bytes:  # the step files are created just after the journal appears
        return (path / name).read_bytes() if (path / name).exists() else b""

    def rows(name: str, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
        raw = data(name)
        size = int(np.dtype(dtype).itemsize * int(np.prod(shape, dtype=np.int64)))
        n = len(raw) // size
        return np.frombuffer(raw[: n * size], dtype=dtype).reshape((n, *shape))

    obs = rows("obs.bin", obs_dtype, obs_shape)
    acts = rows("acts.bin", act_dtype, act_shape)
    rews = rows("rews.bin", np.float64, ())
    infos: list[dict[str, Any]] = []
    for line in data("infos.jsonl").split(b"\n"):
        try:
            info = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            break  # the last line may be cut short; every complete one before it counts
        if not isinstance(info, dict):
            break
        infos.append(info)
    steps = min(len(obs) - 1, len(acts), len(rews), len(infos))
    if steps <= 0:
        return header, None
    try:
        meta = EpisodeMeta.from_json(header["meta"])
    except (TypeError, ValueError) as err:
        raise StoreError(
            f"journal {path}: header.json's metadata cannot be read ({err}); remove the folder by hand"
        ) from None
    meta.extra = {**meta.extra, "recovered": True, "ended_by": "interrupted"}
    mtime = max((p.stat().st_mtime for p in path.iterdir()), default=time.time())
    meta.ended_utc = (
        datetime.fromtimestamp(mtime, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    meta.discarded = header.get("on_recover") == "discard"
    episode = Episode(
        obs=np.array(obs[: steps + 1]),
        acts=np.array(acts[:steps]),
        rews=np.array(rews[:steps]),
        terminated=False,
        truncated=True,
        infos=infos[:steps],
        meta=meta,
    )
    return header, episode


def journals(dataset: Any) -> list[JournalState]:
    """Every unfinished episode of `dataset`: being written now (`live`), or left by a writer that died.

    A dead writer's journal whose episode is already stored (killed between commit and cleanup) is
    not unfinished and is not listed; `recover_journals` removes it."""
    root = dataset.path / JOURNAL_DIR
    out = []
    stored: Optional[set[str]] = None  # committed ids, read under the first dead journal's lock
    for path in sorted(root.iterdir()) if root.exists() else []:
        try:
            fd = _try_lock(path)
        except _Gone:
            continue
        except StoreError as err:
            out.append(
                JournalState(
                    name=path.name, episode_id="?", steps=0, live=False, operator=None, started_utc=None, error=str(err)
                )
            )
            continue
        live = fd is None
        try:
            header, episode = _read(dataset, path)
            meta = header["meta"]
            if live and not path.exists():  # committed or dropped while it was read
                continue
            if not live:
                if stored is None:
                    stored = set(dataset.episode_ids(include_discarded=True))
                if str(meta.get("episode_id")) in stored:
                    continue
        except _Gone:
            continue
        except StoreError as err:
            out.append(
                JournalState(
                    name=path.name, episode_id="?", steps=0, live=live, operator=None, started_utc=None, error=str(err)
                )
            )
            continue
        finally:
            if fd is not None:
                os.close(fd)
        out.append(
            JournalState(
                name=path.name,
                episode_id=str(meta.get("episode_id")),
                steps=len(episode) if episode else 0,
                live=live,
                operator=meta.get("operator"),
                started_utc=meta.get("started_utc"),
            )
        )
    return out


def recover_journals(dataset: Any) -> list[str]:
    """Commit the episodes of dead writers' journals and remove those journals; returns the new episode ids.

    Live journals (their writer holds the lock) and damaged ones are left alone. Safe to run concurrently: each
    journal is locked while it is converted, and removed (atomically) before its lock is released."""
    root = dataset.path / JOURNAL_DIR
    if not root.exists():
        return []
    recovered: list[str] = []
    stored: Optional[set[str]] = None  # committed ids, read under the first dead journal's lock
    for path in sorted(root.iterdir()):
        try:
            fd = _try_lock(path)
        except (_Gone, StoreError):
            continue  # gone, or damaged: `validate` names it; the others are still recovered
        if fd is None:
            continue
        try:
            if not path.exists():  # another recoverer finished it while we waited
                continue
            try:
                _, episode = _read(dataset, path)
            except (_Gone, StoreError):
                continue
            if stored is None:
                stored = set(dataset.episode_ids(include_discarded=True))
            if episode is not None and episode.meta.episode_id not in stored:
                recovered.append(dataset.append_episode(episode))
                stored.add(episode.meta.episode_id)
            trash = move_to_trash(path, dataset.path / ".tmp")
        finally:
            os.close(fd)
        if trash is not None:
            delete_trash(trash)
    return recovered
