"""A dataset of episodes on disk: immutable segments of per-column `.npy` files.

Why this layout (see BENCHMARKS.md for the numbers):
- Loading is memory-mapping a handful of `.npy` files: 1M CartPole transitions open in
  milliseconds and hand imitation its arrays without parsing or unpickling anything.
- Crash safety needs no journal: a segment is written in `.tmp/`, fsync'd, then renamed into
  `segments/` in one atomic step (the rules every reader follows are in segments.py).
- Concurrent writers need no lock: each segment has a unique name (time + pid + random), and the
  list of segments is the directory listing, so there is no shared manifest to race on.
- `compact` merges segments into one that names the ones it replaces (compaction.py); readers skip
  replaced segments, so a reader never counts an episode twice even while compaction runs.

Folder layout::

    NAME/dataset.json                 env id and spec, spaces, schema version, description
    NAME/segments/<time>-<pid>-<rand>/  one committed segment (one or many episodes)
        segment.json                  per-episode metadata, per-file sha256 and size
        obs.npy acts.npy rews.npy     columns, episodes concatenated (obs has T+1 rows each)
        infos.jsonl                   optional per-step infos, one JSON line per episode
    NAME/journal/<name>/              an episode in progress, logged per step (journal.py)
    NAME/.tmp/                        segments being written, folders being removed (never read)
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Optional, Sequence

import numpy as np
from gymnasium import spaces

from irlkit import __version__
from irlkit.errors import StoreError
from irlkit.store.base import SegmentedDataset
from irlkit.store.checks import segment_problems
from irlkit.store.episode import Episode, EpisodeMeta, utc_now
from irlkit.store.episode_segment import EpisodeSegment, lay_out_episodes
from irlkit.store.jsonio import json_safe
from irlkit.store.segment import ColumnSpec, Segment
from irlkit.store.spaces import describe_space, space_to_json, storage_dtype

if TYPE_CHECKING:
    from irlkit.store.journal import EpisodeJournal, JournalState

SCHEMA_VERSION = 1
"""Bumped whenever the on-disk layout changes in a way an older reader would misread."""


@dataclasses.dataclass(frozen=True)
class _Ref:
    """Where one episode lives: a segment and its index inside it."""

    segment: EpisodeSegment
    index: int

    @property
    def meta(self) -> EpisodeMeta:
        return self.segment.metas[self.index]


class Dataset(SegmentedDataset):
    """A named collection of episodes for one env, readable while others append to it.

    Open with `Dataset.open(path)` (or `DemoStore.open(name)`), create with `Dataset.create`.
    `select(...)` returns a filtered view with the same API, so everything that loads data
    (training, export, replay) can take a selection as well as a whole dataset.
    """

    KIND = "dataset"
    KIND_NAME = "demos dataset"
    INFO_FILE = "dataset.json"
    SCHEMA_VERSION = SCHEMA_VERSION
    SEGMENT_DIR = "segments"
    SEGMENT: ClassVar[type[Segment]] = EpisodeSegment
    FOLDERS = ("segments", ".tmp")
    SPACES_HINT = (
        "Pick demos recorded on this env (`python -m irlkit.demos ls` shows each dataset's env), or the "
        "env they came from."
    )
    NOT_FOUND_HINT = (
        "List datasets with `python -m irlkit.demos ls`, or import one with `python -m irlkit.demos import`."
    )

    _segments: dict[str, EpisodeSegment]  # type: ignore[assignment]

    def __init__(
        self,
        path: Path,
        info: dict[str, Any],
        where: Optional[Callable[[EpisodeMeta], bool]] = None,
        include_discarded: bool = False,
    ):
        self._where = where
        self._include_discarded = include_discarded
        self._refs: list[_Ref] = []
        super().__init__(path, info)

    def _column_specs(self) -> dict[str, ColumnSpec]:
        obs, act = self.observation_space, self.action_space
        return {
            "obs": ColumnSpec(storage_dtype(obs), tuple(obs.shape or ()), f"observation space {describe_space(obs)}"),
            "acts": ColumnSpec(storage_dtype(act), tuple(act.shape or ()), f"action space {describe_space(act)}"),
            "rews": ColumnSpec(np.dtype(np.float64), (), "rewards (float64)"),
        }

    def _reindex(self) -> None:
        refs = []
        for seg in self._segments.values():
            for i, meta in enumerate(seg.metas):
                if meta.discarded and not self._include_discarded:
                    continue
                if self._where is not None and not self._where(meta):
                    continue
                refs.append(_Ref(seg, i))
        self._refs = refs

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
        info = {
            "schema_version": SCHEMA_VERSION,
            "env_id": env_id,
            "env_spec": json_safe(env_spec or {}, "env_spec"),
            "observation_space": space_to_json(observation_space),
            "action_space": space_to_json(action_space),
            "description": description,
            "created_utc": utc_now(),
            "irlkit_version": __version__,
        }
        return cls._create(Path(path), info, exist_ok=exist_ok)

    @classmethod
    def open(cls, path: os.PathLike | str, *, verify: bool = False) -> "Dataset":
        """Open a dataset folder. `verify=True` also checks every file's sha256 (slower)."""
        ds = super().open(path)
        if verify:
            ds.verify_checksums()
        return ds

    # ---- metadata ---------------------------------------------------------------------------
    @property
    def env_spec(self) -> dict[str, Any]:
        return self._info.get("env_spec") or {}

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
        view.path, view._info, view._specs = self.path, self._info, self._specs
        view.observation_space, view.action_space = self.observation_space, self.action_space
        view._where, view._include_discarded = keep, include_discarded or self._include_discarded
        view._cache, view._segments, view._refs = dict(self._cache), dict(self._segments), []
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
        return self.read_episode(ref.segment, ref.index)

    def selected_segments(self) -> list[tuple[EpisodeSegment, list[int]]]:
        """The segments holding this view's episodes, each with the indices of those episodes in it."""
        out: dict[str, tuple[EpisodeSegment, list[int]]] = {}
        for ref in self._refs:
            out.setdefault(ref.segment.name, (ref.segment, []))[1].append(ref.index)
        return list(out.values())

    def read_episode(self, seg: EpisodeSegment, i: int) -> Episode:
        """Episode `i` of segment `seg`: read-only views of its columns, and its metadata."""
        m = seg.metas[i]
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

    def require_episodes(self) -> None:
        """Refuse an empty selection, saying how to get episodes (everything that learns calls this)."""
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
        from irlkit.store.imitation_types import to_trajectories

        return to_trajectories(self, terminal=terminal)

    def to_transitions(self, *, terminal: str = "done") -> Any:
        """One imitation `Transitions` for all selected episodes, built with vectorized copies only
        (see imitation_types.py); `terminal` as in `to_trajectories`."""
        from irlkit.store.imitation_types import to_transitions

        return to_transitions(self, terminal=terminal)

    # ---- writing ----------------------------------------------------------------------------
    def append_episode(self, episode: Episode) -> str:
        """Commit one episode atomically; returns its id. Safe to call from several processes."""
        return self.append_episodes([episode])[0]

    def append_episodes(self, episodes: Iterable[Episode]) -> list[str]:
        """Commit many episodes as one segment: all of them become visible at once, or none."""
        return self.write_segment(list(episodes))

    def write_segment(self, episodes: list[Episode], *, replaces: Sequence[str] = ()) -> list[str]:
        """Commit `episodes` as one segment that hides the segment folders named in `replaces`
        (what `compact` does; appenders replace nothing). Returns the episode ids."""
        if not episodes:
            return []
        columns, header, extra = lay_out_episodes(
            episodes, self.name, self.env_id, self.observation_space, self.action_space
        )
        if replaces:
            header["replaces"] = list(replaces)
        self._commit_segment(columns, header, extra)
        self.refresh()
        return [m["episode_id"] for m in header["episodes"]]

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
    def check(self) -> None:
        """Refuse, with the message `validate` gives, a selection that must not be learned from.

        What training calls before using data (issue 15): every file of the selected episodes'
        segments matches its sha256, every column has the rows, dtype and row shape its header and
        the spaces say, and every value is finite and inside its space. Vectorized per segment:
        its cost per 1M transitions is in BENCHMARKS.md ("Demos store")."""
        self.require_episodes()
        problems = self._problems(every_segment=False, first_only=True)
        if problems:
            raise StoreError(
                f"dataset {self.name!r} ({self.path}) fails its check and is not used: {problems[0]} "
                f"`python -m irlkit.demos validate {self.name}` lists every problem."
            )

    def validate(self) -> list[str]:
        """Every problem found, each naming the episode and field; an empty list means sound.

        Beyond `check`: every segment's checksums (also those holding only unselected episodes),
        an empty dataset, and unfinished episodes that dead writers left in the journal."""
        try:
            self.refresh()
        except StoreError as err:
            return [str(err)]
        problems: list[str] = []
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
        return problems + self._problems(every_segment=True, first_only=False)

    def _problems(self, *, every_segment: bool, first_only: bool) -> list[str]:
        """checks.segment_problems over the segments holding this view's episodes (or all of them)."""
        chosen: dict[str, list[tuple[int, int]]] = {}
        for position, ref in enumerate(self._refs):  # the view's numbering names episodes in messages
            chosen.setdefault(ref.segment.name, []).append((ref.index, position))
        names = list(self._segments) if every_segment else list(chosen)
        problems: list[str] = []
        for name in names:
            problems += segment_problems(
                self._segments[name], chosen.get(name, []), self.observation_space, self.action_space
            )
            if first_only and problems:
                break
        return problems

    # ---- maintenance --------------------------------------------------------------------------
    def compact(self, *, stale_tmp_s: float = 3600.0) -> int:
        """Merge all segments into one (faster loading); returns how many segment folders it replaced.
        Safe to kill at any point, and readers may keep reading meanwhile (compaction.py says how)."""
        from irlkit.store.compaction import compact

        return compact(self, stale_tmp_s=stale_tmp_s)
