"""A preference dataset: pairs of trajectory fragments and the labels people gave them.

The sibling of `Dataset` in the demos store, built the same way and for the same reasons:

- Pairs are committed in immutable batches (per-column `.npy` files plus `batch.json`), written in
  `.tmp/`, fsync'd and renamed into `pairs/` in one atomic step, so a killed run never leaves a
  half-written pair where readers look.
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
import json
import os
import re
import secrets
import uuid
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from gymnasium import spaces

from irlkit import __version__
from irlkit.errors import SchemaVersionError, StoreError
from irlkit.store.dataset import (
    _fsync_dir,
    _json_safe,
    _read_json,
    _save_npy,
    _segment_name,
    _sha256,
    _write_file,
    create_folder_atomically,
)
from irlkit.store.episode import check_operator, utc_now
from irlkit.store.root import DemoStore, check_name, looks_like_path
from irlkit.store.spaces import (
    describe_space,
    space_from_json,
    space_to_json,
    spaces_match,
    storage_dtype,
)

PREFERENCE_SCHEMA_VERSION = 1
"""Bumped whenever the preference dataset layout changes in a way an older reader would misread."""

LABELS = ("left", "right", "equal", "skip")
"""What a person can answer: the left clip is better, the right one, both equally good, or
"can't tell" (skip: kept as a record, never trained on)."""

LABEL_PREFERENCE = {"left": 1.0, "right": 0.0, "equal": 0.5}
"""imitation's convention: the probability that the first (left) fragment is preferred."""

_PAIR_ID = re.compile(r"^[0-9a-f]{16}$")
_COLUMNS = ("obs1", "acts1", "rews1", "obs2", "acts2", "rews2")


@dataclasses.dataclass(frozen=True)
class Fragment:
    """One clip's data: T actions, T env rewards (NaN-free; zeros when unknown), T+1 observations."""

    obs: np.ndarray
    acts: np.ndarray
    rews: np.ndarray

    def __len__(self) -> int:
        return len(self.acts)


@dataclasses.dataclass(frozen=True)
class PairRecord:
    """Metadata of one stored pair; its fragments are read with `PreferenceDataset.fragments`."""

    pair_id: str
    run: str
    """Which run asked for the pair (a key made from the env, seed and algorithm config)."""
    iteration: int
    """The preference-comparisons round that asked for it (0 is the initial batch)."""
    index: int
    """Position inside that round's batch."""
    queued_utc: str
    length: int
    return_left: float
    return_right: float
    rewards_known: bool
    batch: str
    """The batch folder holding the arrays."""
    row: int
    """Row of the pair inside its batch."""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class LabelRecord:
    """One person's answer for one pair."""

    pair_id: str
    label: str
    """One of LABELS."""
    annotator: str
    """A pseudonym (checked by `irlkit.store.check_operator`)."""
    labelled_utc: str
    shown_utc: Optional[str] = None
    """When the page first showed the pair to this annotator (for response times)."""
    response_s: Optional[float] = None
    round: int = 0
    """Asked again (round 1, 2, ...) only when every pair of a first batch was skipped."""
    source: str = "browser"
    irlkit_version: str = __version__

    @property
    def preference(self) -> Optional[float]:
        """1.0 left, 0.0 right, 0.5 equal, None for a skip."""
        return LABEL_PREFERENCE.get(self.label)


class LabelConflict(StoreError):
    """This annotator already labelled this pair (in this round)."""


class PreferenceDataset:
    """Pairs of fragments for one env, and every label people gave them.

    Open with `PreferenceDataset.open(path)` or `open_preferences(name)`, create with
    `PreferenceDataset.create`. Safe to read while other processes add pairs and labels.
    """

    def __init__(self, path: Path, info: dict[str, Any]):
        self.path = Path(path)
        self._info = info
        self.observation_space: spaces.Space = space_from_json(info["observation_space"])
        self.action_space: spaces.Space = space_from_json(info["action_space"])
        self._batches: dict[str, dict[str, Any]] = {}
        self._columns: dict[tuple[str, str], np.ndarray] = {}
        self._pairs: dict[str, PairRecord] = {}
        self._labels: dict[str, LabelRecord] = {}
        self.refresh()

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
        path = Path(path)
        if (path / "dataset.json").exists():
            raise StoreError(
                f"{path.name!r} at {path} is a demos dataset, not a preference dataset; choose another name"
            )
        info = {
            "kind": "preferences",
            "schema_version": PREFERENCE_SCHEMA_VERSION,
            "env_id": env_id,
            "env_config": _json_safe(env_config or {}, "env_config"),
            "observation_space": space_to_json(observation_space),
            "action_space": space_to_json(action_space),
            "description": description,
            "created_utc": utc_now(),
            "irlkit_version": __version__,
        }
        if (path / "preferences.json").exists():
            if not exist_ok:
                raise StoreError(f"preference dataset {path.name!r} already exists at {path}; choose another name")
            existing = cls.open(path)
            existing.check_spaces(observation_space, action_space, env_id=env_id)
            return existing
        # Built aside and renamed into place, as Dataset.create does: two creators, one winner.
        if not create_folder_atomically(path, ("pairs", "labels", ".tmp"), "preferences.json", info):
            if not (path / "preferences.json").exists():
                raise StoreError(f"cannot create a preference dataset at {path}: the folder exists and is not one")
            if not exist_ok:
                raise StoreError(f"preference dataset {path.name!r} already exists at {path}")
            existing = cls.open(path)
            existing.check_spaces(observation_space, action_space, env_id=env_id)
            return existing
        return cls(path, info)

    @classmethod
    def open(cls, path: os.PathLike | str) -> "PreferenceDataset":
        path = Path(path)
        if not (path / "preferences.json").exists():
            what = "a demos dataset" if (path / "dataset.json").exists() else "not a preference dataset"
            raise StoreError(
                f"{path} is {what}: it has no preferences.json. Preference datasets are made by "
                "`python -m irlkit algo=preference feedback=human` or `python -m irlkit.feedback queue`."
            )
        info = _read_json(path / "preferences.json", f"preference dataset {path.name}")
        version = info.get("schema_version")
        if not isinstance(version, int) or version > PREFERENCE_SCHEMA_VERSION:
            raise SchemaVersionError(
                f"preference dataset {path.name!r} was written with schema version {version}, but this irlkit "
                f"({__version__}) reads up to version {PREFERENCE_SCHEMA_VERSION}. Upgrade irlkit to read it."
            )
        for key in ("env_id", "observation_space", "action_space"):
            if key not in info:
                raise StoreError(f"preference dataset {path.name!r}: preferences.json has no {key!r}; the file is damaged")
        return cls(path, info)

    def refresh(self) -> None:
        """Re-read the pair batches and labels (picks up what other writers committed)."""
        pair_dir = self.path / "pairs"
        names = sorted(p.name for p in pair_dir.iterdir() if p.is_dir()) if pair_dir.exists() else []
        for name in names:
            if name not in self._batches:
                header = _read_json(pair_dir / name / "batch.json", f"pair batch {name}")
                version = header.get("schema_version")
                if not isinstance(version, int) or version > PREFERENCE_SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"pair batch {name} has schema version {version}; this irlkit reads up to "
                        f"{PREFERENCE_SCHEMA_VERSION}. Upgrade irlkit to read it."
                    )
                for fname, finfo in header.get("files", {}).items():
                    fpath = pair_dir / name / fname
                    size = fpath.stat().st_size if fpath.exists() else -1
                    if size != finfo.get("bytes"):
                        raise StoreError(
                            f"pair batch {name}: file {fname} has {size} bytes, expected {finfo.get('bytes')}; it was "
                            "truncated or changed. Restore it, or remove the batch folder to drop its pairs."
                        )
                self._batches[name] = header
                for row, p in enumerate(header["pairs"]):
                    rec = PairRecord(batch=name, row=row, **p)
                    self._pairs[rec.pair_id] = rec
        label_dir = self.path / "labels"
        if label_dir.exists():
            for p in label_dir.iterdir():
                if p.name in self._labels or not p.name.endswith(".json") or p.name.startswith("."):
                    continue
                data = _read_json(p, f"label {p.name}")
                known = {f.name for f in dataclasses.fields(LabelRecord)}
                self._labels[p.name] = LabelRecord(**{k: v for k, v in data.items() if k in known})

    # ---- metadata -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def env_id(self) -> str:
        return self._info["env_id"]

    @property
    def env_config(self) -> dict[str, Any]:
        """The irlkit EnvConfig (as a dict) the pairs were recorded with, for rendering clips."""
        return dict(self._info.get("env_config") or {})

    @property
    def description(self) -> str:
        return self._info.get("description", "")

    def check_spaces(self, observation_space: spaces.Space, action_space: spaces.Space, *, env_id: Optional[str] = None) -> None:
        """Refuse to mix pairs from an env whose spaces differ."""
        for what, mine, theirs in (("observation", self.observation_space, observation_space), ("action", self.action_space, action_space)):
            if not spaces_match(mine, theirs):
                env = f"env {env_id!r}" if env_id else "the env"
                raise StoreError(
                    f"preference dataset {self.name!r} (recorded on {self.env_id}) has {what} space "
                    f"{describe_space(mine)}, but {env} has {describe_space(theirs)}. Use another "
                    "feedback.dataset name for this env."
                )

    # ---- pairs ----------------------------------------------------------------------------------
    def pairs(self, *, run: Optional[str] = None, iteration: Optional[int] = None) -> list[PairRecord]:
        """Stored pairs in commit order, optionally only those a given run asked in a given round."""
        out = [p for p in self._pairs.values() if (run is None or p.run == run) and (iteration is None or p.iteration == iteration)]
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
        header = self._batches[rec.batch]
        offsets = header["offsets"]  # act-row offsets, shared by both sides (same lengths per pair)
        a0, a1 = offsets[rec.row], offsets[rec.row + 1]
        o0, o1 = a0 + rec.row, a1 + rec.row + 1
        out = []
        for side in ("1", "2"):
            out.append(
                Fragment(
                    obs=self._column(rec.batch, f"obs{side}")[o0:o1],
                    acts=self._column(rec.batch, f"acts{side}")[a0:a1],
                    rews=self._column(rec.batch, f"rews{side}")[a0:a1],
                )
            )
        return out[0], out[1]

    def _column(self, batch: str, name: str) -> np.ndarray:
        key = (batch, name)
        if key not in self._columns:
            try:
                arr = np.load(self.path / "pairs" / batch / f"{name}.npy", allow_pickle=False)
            except (ValueError, OSError) as err:
                raise StoreError(f"pair batch {batch}: {name}.npy cannot be read ({err}); it is damaged") from None
            arr.flags.writeable = False
            self._columns[key] = arr
        return self._columns[key]

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
        obs_dtype, act_dtype = storage_dtype(self.observation_space), storage_dtype(self.action_space)
        act_shape = tuple(self.action_space.shape or ())
        obs_shape = tuple(self.observation_space.shape or ())
        cols: dict[str, list[np.ndarray]] = {c: [] for c in _COLUMNS}
        metas, offsets = [], [0]
        now = utc_now()
        for k, (left, right) in enumerate(pairs):
            where = f"preference dataset {self.name!r}, new pair {k}"
            for side, frag in (("1", left), ("2", right)):
                obs, acts = np.asarray(frag.obs), np.asarray(frag.acts)
                rews = np.asarray(frag.rews, dtype=np.float64)
                t = len(acts)
                if t == 0 or len(obs) != t + 1 or rews.shape != (t,):
                    raise StoreError(f"{where}: a fragment needs T>0 actions, T rewards and T+1 observations; got "
                                     f"{len(obs)} observations, {t} actions, rewards of shape {rews.shape}")
                if obs.shape[1:] != obs_shape:
                    raise StoreError(f"{where}: observations have shape {obs.shape[1:]}, the dataset's space needs {obs_shape}")
                if not np.isfinite(rews).all() or (np.issubdtype(obs.dtype, np.floating) and not np.isfinite(obs).all()):
                    raise StoreError(f"{where}: fragment holds NaN or inf")
                cols[f"obs{side}"].append(obs.astype(obs_dtype, copy=False))
                cols[f"acts{side}"].append(acts.astype(act_dtype, copy=False).reshape((t,) + act_shape))
                cols[f"rews{side}"].append(rews)
            if len(left) != len(right):
                raise StoreError(f"{where}: the fragments have {len(left)} and {len(right)} steps; a pair needs equal lengths")
            offsets.append(offsets[-1] + len(left))
            metas.append(
                {
                    "pair_id": uuid.uuid4().hex[:16],
                    "run": run,
                    "iteration": int(iteration),
                    "index": k,
                    "queued_utc": now,
                    "length": len(left),
                    "return_left": float(np.sum(left.rews)),
                    "return_right": float(np.sum(right.rews)),
                    "rewards_known": bool(rewards_known),
                    "extra": _json_safe(extra or {}, f"{where}: extra"),
                }
            )
        name = _segment_name()
        tmp = self.path / ".tmp" / name
        tmp.mkdir(parents=True)
        files = {f"{c}.npy": _save_npy(tmp / f"{c}.npy", np.concatenate(cols[c])) for c in _COLUMNS}
        header = {
            "schema_version": PREFERENCE_SCHEMA_VERSION,
            "created_utc": now,
            "pairs": metas,
            "offsets": offsets,
            "files": files,
        }
        _write_file(tmp / "batch.json", (json.dumps(header, indent=1) + "\n").encode("utf-8"))
        _fsync_dir(tmp)
        (self.path / "pairs").mkdir(exist_ok=True)
        os.rename(tmp, self.path / "pairs" / name)
        _fsync_dir(self.path / "pairs")
        self.refresh()
        return [m["pair_id"] for m in metas]

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
        label_dir = self.path / "labels"
        label_dir.mkdir(exist_ok=True)
        tmp = self.path / ".tmp" / f"label-{secrets.token_hex(6)}.json"
        tmp.parent.mkdir(exist_ok=True)
        _write_file(tmp, (json.dumps(_json_safe(dataclasses.asdict(record), "label"), indent=1) + "\n").encode("utf-8"))
        try:
            os.link(tmp, label_dir / final_name)  # fails if the name exists: one label per key, no race
        except FileExistsError:
            raise LabelConflict(
                f"annotator {annotator!r} already labelled pair {pair_id}"
                + (f" in round {round}" if round else "")
                + "; a label is never overwritten"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(label_dir)
        self._labels[final_name] = record
        return record

    def labels(self, *, annotators: Optional[Iterable[str]] = None, pair_id: Optional[str] = None) -> list[LabelRecord]:
        """Labels in the order they were given (optionally one pair's, or some annotators')."""
        keep = set(annotators) if annotators is not None else None
        out = [
            r for r in self._labels.values()
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

        pairs, prefs = [], []
        for (pair_id, _), rec in sorted(self.latest_labels(annotators=annotators).items(), key=lambda kv: kv[1].labelled_utc):
            pref = rec.preference
            if pref is None:
                continue
            left, right = self.fragments(pair_id)
            pairs.append(tuple(
                TrajectoryWithRew(obs=np.asarray(f.obs), acts=np.asarray(f.acts), infos=None, terminal=False, rews=np.asarray(f.rews))
                for f in (left, right)
            ))
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

    def verify_checksums(self) -> None:
        for name, header in self._batches.items():
            for fname, finfo in header.get("files", {}).items():
                if _sha256(self.path / "pairs" / name / fname) != finfo.get("sha256"):
                    raise StoreError(f"pair batch {name}: {fname} does not match its checksum; it was changed after writing")


def preference_path(store: DemoStore, ref: str) -> Path:
    """Folder of a preference dataset given by name (in the store root) or path."""
    if looks_like_path(ref):
        return Path(ref).expanduser().resolve()
    return store.root / check_name(ref)


def open_preferences(ref: str, *, root: Optional[str | os.PathLike] = None) -> PreferenceDataset:
    """Open a preference dataset by name in the store root (or by path)."""
    store = DemoStore(root)
    path = preference_path(store, ref)
    if not (path / "preferences.json").exists() and not looks_like_path(ref):
        known = [p.name for p in sorted(store.root.iterdir()) if (p / "preferences.json").exists()] if store.root.is_dir() else []
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
    path = preference_path(DemoStore(root), ref)
    return PreferenceDataset.create(path, env_id=env_id, observation_space=observation_space, action_space=action_space,
                                    env_config=env_config, description=description, exist_ok=exist_ok)
