"""A preference dataset: pairs of trajectory fragments and the labels people gave them.

The sibling of `Dataset` in the demos store, on the same base (`SegmentedDataset`, base.py) and
for the same reasons:

- Pairs are committed in immutable batches (`PairBatch`: per-column `.npy` files plus
  `batch.json`), written in `.tmp/`, fsync'd and renamed into `pairs/` in one atomic step, so a
  killed run never leaves a half-written pair where readers look.
- Each label is one small JSON file, written aside, fsync'd and then *hard-linked* to its final
  name `labels/<pair>.<annotator>.<round>.json`. `link` fails if the name exists, so two
  processes (or two browser tabs) labelling the same pair as the same annotator cannot both win,
  and an acknowledged label is on disk before the labeller is told so. No file is ever rewritten.
- Readers list folders: there is no manifest to race on, and a restarted run resumes by reading
  what is there.

Folder layout::

    NAME/preferences.json               schema version, env id, env config, spaces, description
    NAME/pairs/<time>-<pid>-<rand>/     one committed batch of pairs
        batch.json                      per-pair metadata (id, run, iteration, returns), file sizes/sha256
        obs1.npy acts1.npy rews1.npy    left fragments, concatenated (obs has T+1 rows per fragment)
        obs2.npy acts2.npy rews2.npy    right fragments
    NAME/labels/<pair>.<annotator>.<round>.json   one label
    NAME/.tmp/                          being written; never read

A folder holds either a demos dataset (`dataset.json`) or a preference dataset (`preferences.json`),
never both, so `python -m irlkit.demos ls` does not list preference datasets.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Iterable, Optional, Sequence

import numpy as np
from gymnasium import spaces

from irlkit import __version__
from irlkit.errors import StoreError
from irlkit.store.atomic import write_once
from irlkit.store.base import SegmentedDataset
from irlkit.store.episode import check_operator, utc_now
from irlkit.store.jsonio import json_safe, to_json_bytes
from irlkit.store.labels import LABEL_PREFERENCE, LABELS, LabelConflict, LabelRecord, read_label
from irlkit.store.pairs import Fragment, PairBatch, PairRecord, lay_out_pairs
from irlkit.store.root import DemoStore, looks_like_path
from irlkit.store.segment import ColumnSpec, Segment
from irlkit.store.spaces import describe_space, space_to_json, storage_dtype

__all__ = [
    "LABELS",
    "LABEL_PREFERENCE",
    "PREFERENCE_SCHEMA_VERSION",
    "Fragment",
    "LabelConflict",
    "LabelRecord",
    "PairRecord",
    "PreferenceDataset",
    "create_preferences",
    "open_preferences",
]

PREFERENCE_SCHEMA_VERSION = 1
"""Bumped whenever the preference dataset layout changes in a way an older reader would misread."""

_PAIR_ID = re.compile(r"^[0-9a-f]{16}$")


class PreferenceDataset(SegmentedDataset):
    """Pairs of fragments for one env, and every label people gave them.

    Open with `PreferenceDataset.open(path)` or `open_preferences(name)`, create with
    `PreferenceDataset.create`. Safe to read while other processes add pairs and labels.
    """

    KIND = "preference dataset"
    KIND_NAME = "preference dataset"
    INFO_FILE = "preferences.json"
    SCHEMA_VERSION = PREFERENCE_SCHEMA_VERSION
    SEGMENT_DIR = "pairs"
    SEGMENT: ClassVar[type[Segment]] = PairBatch
    FOLDERS = ("pairs", "labels", ".tmp")
    SPACES_HINT = "Use another feedback.dataset name for this env."
    NOT_FOUND_HINT = (
        "Preference datasets are made by `python -m irlkit algo=preference feedback=human` or "
        "`python -m irlkit.feedback queue`."
    )

    _segments: dict[str, PairBatch]  # type: ignore[assignment]

    def __init__(self, path: Path, info: dict[str, Any]):
        self._pairs: dict[str, PairRecord] = {}
        self._labels: dict[str, LabelRecord] = {}
        super().__init__(path, info)

    def _column_specs(self) -> dict[str, ColumnSpec]:
        obs, act = self.observation_space, self.action_space
        specs = {}
        for side in ("1", "2"):
            specs[f"obs{side}"] = ColumnSpec(
                storage_dtype(obs), tuple(obs.shape or ()), f"observation space {describe_space(obs)}"
            )
            specs[f"acts{side}"] = ColumnSpec(
                storage_dtype(act), tuple(act.shape or ()), f"action space {describe_space(act)}"
            )
            specs[f"rews{side}"] = ColumnSpec(np.dtype(np.float64), (), "rewards (float64)")
        return specs

    # ---- creating and opening -----------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: os.PathLike | str,
        *,
        env_id: str,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        env_config: Optional[dict[str, Any]] = None,
        description: str = "",
        exist_ok: bool = False,
    ) -> "PreferenceDataset":
        """Create an empty preference dataset; with `exist_ok`, open an existing one whose spaces agree."""
        info = {
            "kind": "preferences",
            "schema_version": PREFERENCE_SCHEMA_VERSION,
            "env_id": env_id,
            "env_config": json_safe(env_config or {}, "env_config"),
            "observation_space": space_to_json(observation_space),
            "action_space": space_to_json(action_space),
            "description": description,
            "created_utc": utc_now(),
            "irlkit_version": __version__,
        }
        return cls._create(Path(path), info, exist_ok=exist_ok)

    def _reindex(self) -> None:
        """Index the pairs of every batch and read the labels given since the last refresh."""
        self._pairs = {rec.pair_id: rec for batch in self._segments.values() for rec in batch.records}
        label_dir = self.path / "labels"
        if not label_dir.is_dir():
            return
        with os.scandir(label_dir) as entries:
            for entry in entries:
                if entry.name in self._labels or not entry.name.endswith(".json") or entry.name.startswith("."):
                    continue
                self._labels[entry.name] = read_label(entry, f"label {entry.name} of preference dataset {self.name!r}")

    # ---- metadata -------------------------------------------------------------------------------
    @property
    def env_config(self) -> dict[str, Any]:
        """The irlkit EnvConfig (as a dict) the pairs were recorded with, for rendering clips."""
        return dict(self._info.get("env_config") or {})

    # ---- pairs ----------------------------------------------------------------------------------
    def pairs(self, *, run: Optional[str] = None, iteration: Optional[int] = None) -> list[PairRecord]:
        """Stored pairs in commit order, optionally only those a given run asked in a given round."""
        out = [
            p
            for p in self._pairs.values()
            if (run is None or p.run == run) and (iteration is None or p.iteration == iteration)
        ]
        return sorted(out, key=lambda p: (p.batch, p.row))

    def pair(self, pair_id: str) -> PairRecord:
        if pair_id not in self._pairs:
            self.refresh()
        if pair_id not in self._pairs:
            raise StoreError(f"preference dataset {self.name!r} has no pair {pair_id!r}")
        return self._pairs[pair_id]

    def has_pair(self, pair_id: str) -> bool:
        return pair_id in self._pairs

    def fragments(self, pair_id: str) -> tuple[Fragment, Fragment]:
        """The left and right fragment of a pair (read-only arrays)."""
        rec = self.pair(pair_id)
        batch = self._segments[rec.batch]
        a0, a1 = batch.offsets[rec.row], batch.offsets[rec.row + 1]  # act rows, shared by both sides
        o0, o1 = a0 + rec.row, a1 + rec.row + 1
        out = []
        for side in ("1", "2"):
            out.append(
                Fragment(
                    obs=batch.column(f"obs{side}")[o0:o1],
                    acts=batch.column(f"acts{side}")[a0:a1],
                    rews=batch.column(f"rews{side}")[a0:a1],
                )
            )
        return out[0], out[1]

    def add_pairs(
        self,
        pairs: Sequence[tuple[Fragment, Fragment]],
        *,
        run: str,
        iteration: int,
        rewards_known: bool = True,
        extra: Optional[dict[str, Any]] = None,
    ) -> list[str]:
        """Commit a batch of pairs atomically (all visible at once, or none); returns their ids.

        Both fragments of a pair must have the same length (the page plays them side by side)."""
        if not pairs:
            return []
        columns, header = lay_out_pairs(
            pairs,
            self.name,
            self.observation_space,
            self.action_space,
            run=run,
            iteration=iteration,
            rewards_known=rewards_known,
            extra=extra,
        )
        self._commit_segment(columns, header)
        self.refresh()
        return [m["pair_id"] for m in header["pairs"]]

    # ---- labels ---------------------------------------------------------------------------------
    def add_label(
        self,
        pair_id: str,
        label: str,
        annotator: str,
        *,
        shown_utc: Optional[str] = None,
        response_s: Optional[float] = None,
        round: int = 0,
        source: str = "browser",
    ) -> LabelRecord:
        """Commit one label atomically, at most once per (pair, annotator, round).

        Raises `LabelConflict` if this annotator already labelled the pair in this round, and
        `StoreError` for an unknown pair, label or an alias that is not a pseudonym."""
        if label not in LABELS:
            raise StoreError(f"label {label!r} is not one of {', '.join(LABELS)}")
        check_operator(annotator)
        if not _PAIR_ID.match(pair_id) or not self.has_pair(pair_id):
            self.refresh()
            if not _PAIR_ID.match(pair_id) or not self.has_pair(pair_id):
                raise StoreError(f"preference dataset {self.name!r} has no pair {pair_id!r}")
        record = LabelRecord(
            pair_id=pair_id,
            label=label,
            annotator=annotator,
            labelled_utc=utc_now(),
            shown_utc=shown_utc,
            response_s=None if response_s is None else float(response_s),
            round=int(round),
            source=source,
        )
        final_name = f"{pair_id}.{annotator}.{int(round)}.json"
        data = to_json_bytes(json_safe(dataclasses.asdict(record), "label"))
        if not write_once(self.path / "labels" / final_name, data, self.path / ".tmp"):  # one label per key, no race
            raise LabelConflict(
                f"annotator {annotator!r} already labelled pair {pair_id}"
                + (f" in round {round}" if round else "")
                + "; a label is never overwritten"
            )
        self._labels[final_name] = record
        return record

    def labels(self, *, annotators: Optional[Iterable[str]] = None, pair_id: Optional[str] = None) -> list[LabelRecord]:
        """Labels in the order they were given (optionally one pair's, or some annotators')."""
        keep = set(annotators) if annotators is not None else None
        out = [
            r
            for r in self._labels.values()
            if (keep is None or r.annotator in keep) and (pair_id is None or r.pair_id == pair_id)
        ]
        return sorted(out, key=lambda r: (r.labelled_utc, r.pair_id, r.annotator))

    def latest_labels(self, *, annotators: Optional[Iterable[str]] = None) -> dict[tuple[str, str], LabelRecord]:
        """Each annotator's final answer per pair (a later round replaces an earlier skip)."""
        out: dict[tuple[str, str], LabelRecord] = {}
        for r in self.labels(annotators=annotators):
            key = (r.pair_id, r.annotator)
            if key not in out or r.round >= out[key].round:
                out[key] = r
        return out

    def annotators(self) -> list[str]:
        return sorted({r.annotator for r in self._labels.values()})

    def to_comparisons(self, *, annotators: Optional[Iterable[str]] = None) -> tuple[list[tuple[Any, Any]], np.ndarray]:
        """imitation's (fragment pairs, preferences): one comparison per non-skip label.

        Two annotators who both labelled a pair give two comparisons (their disagreement is a
        soft target, as in Christiano et al.); skips are left out. Fragments are imitation
        `TrajectoryWithRew`s; preferences float32 (1 left, 0 right, 0.5 equal)."""
        from imitation.data.types import TrajectoryWithRew

        pairs: list[tuple[Any, Any]] = []
        prefs = []
        for (pair_id, _), rec in sorted(
            self.latest_labels(annotators=annotators).items(), key=lambda kv: kv[1].labelled_utc
        ):
            pref = rec.preference
            if pref is None:
                continue
            left, right = self.fragments(pair_id)
            first, second = (
                TrajectoryWithRew(
                    obs=np.asarray(f.obs), acts=np.asarray(f.acts), infos=None, terminal=False, rews=np.asarray(f.rews)
                )
                for f in (left, right)
            )
            pairs.append((first, second))
            prefs.append(pref)
        return pairs, np.asarray(prefs, dtype=np.float32)

    def summary(self) -> dict[str, Any]:
        labels = list(self._labels.values())
        return {
            "name": self.name,
            "env_id": self.env_id,
            "pairs": len(self._pairs),
            "labels": len(labels),
            "labelled_pairs": len({r.pair_id for r in labels}),
            "annotators": self.annotators(),
            "runs": sorted({p.run for p in self._pairs.values()}),
            "description": self.description,
        }


def open_preferences(ref: str, *, root: Optional[str | os.PathLike] = None) -> PreferenceDataset:
    """Open a preference dataset by name in the store root (or by path)."""
    store = DemoStore(root)
    path = store.path_of(ref, shipped=False)
    if not (path / "preferences.json").exists() and not looks_like_path(ref):
        known = (
            [p.name for p in sorted(store.root.iterdir()) if (p / "preferences.json").exists()]
            if store.root.is_dir()
            else []
        )
        raise StoreError(
            f"no preference dataset named {ref!r} in {store.root} (there: {', '.join(known) or 'none'}). "
            "Make one with `python -m irlkit algo=preference feedback=human feedback.dataset=NAME` or "
            "`python -m irlkit.feedback queue`, or set IRLKIT_DEMOS / --root to the right folder."
        )
    return PreferenceDataset.open(path)


def create_preferences(
    ref: str,
    *,
    env_id: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    env_config: Optional[dict[str, Any]] = None,
    description: str = "",
    root: Optional[str | os.PathLike] = None,
    exist_ok: bool = True,
) -> PreferenceDataset:
    """Create (or, with exist_ok, open) a preference dataset by name in the store root."""
    path = DemoStore(root).path_of(ref, shipped=False)
    return PreferenceDataset.create(
        path,
        env_id=env_id,
        observation_space=observation_space,
        action_space=action_space,
        env_config=env_config,
        description=description,
        exist_ok=exist_ok,
    )
