"""How pairs of fragments lie in a batch: per-pair metadata and act-row offsets in `batch.json`,
both sides' columns (`obs1 acts1 rews1 obs2 acts2 rews2`; obs has T+1 rows per fragment).

`lay_out_pairs` turns new pairs into a batch's columns and header, refusing fragments that do not
fit; `PairBatch` reads one back and checks its header before any column is read.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Optional, Sequence

import numpy as np
from gymnasium import spaces

from irlkit.errors import StoreError
from irlkit.store.episode import utc_now
from irlkit.store.jsonio import json_safe
from irlkit.store.segment import Segment
from irlkit.store.spaces import storage_dtype

PAIR_COLUMNS = ("obs1", "acts1", "rews1", "obs2", "acts2", "rews2")


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


class PairBatch(Segment):
    """A committed batch of pairs: per-pair metadata and act-row `offsets` in `batch.json`, and the
    six columns (both sides' obs, acts, rews; each pair's fragments have the same length)."""

    HEADER_FILE = "batch.json"
    KIND = "pair batch"
    UNIT = "pairs"

    def _parse(self) -> None:
        pairs, offsets = self.header.get("pairs"), self.header.get("offsets")
        if not isinstance(pairs, list) or not all(isinstance(p, dict) for p in pairs):
            raise self._damaged("has no 'pairs' list (each pair's metadata)")
        if (
            not isinstance(offsets, list)
            or len(offsets) != len(pairs) + 1
            or offsets[:1] != [0]
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or any(b <= a for a, b in zip(offsets, offsets[1:]))
        ):
            raise self._damaged("has 'offsets' that are not increasing whole numbers from 0, one more than its pairs")
        known = {f.name for f in dataclasses.fields(PairRecord)} - {"batch", "row"}
        records = []
        for row, p in enumerate(pairs):
            try:
                records.append(PairRecord(batch=self.name, row=row, **{k: v for k, v in p.items() if k in known}))
            except TypeError as err:
                raise self._damaged(f"holds metadata for pair {row} that cannot be read ({err})") from None
        self.records: list[PairRecord] = records
        self.offsets: list[int] = offsets
        self.count = len(records)

    def rows(self, column: str) -> int:
        steps = self.offsets[-1]
        return steps + len(self.records) if column.startswith("obs") else steps


def lay_out_pairs(
    pairs: Sequence[tuple[Fragment, Fragment]],
    dataset: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    *,
    run: str,
    iteration: int,
    rewards_known: bool,
    extra: Optional[dict[str, Any]],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The columns and header of a new batch holding `pairs` (both fragments of a pair equally long)."""
    obs_dtype, act_dtype = storage_dtype(observation_space), storage_dtype(action_space)
    act_shape = tuple(action_space.shape or ())
    obs_shape = tuple(observation_space.shape or ())
    cols: dict[str, list[np.ndarray]] = {c: [] for c in PAIR_COLUMNS}
    metas, offsets = [], [0]
    now = utc_now()
    for k, (left, right) in enumerate(pairs):
        where = f"preference dataset {dataset!r}, new pair {k}"
        for side, frag in (("1", left), ("2", right)):
            obs, acts = np.asarray(frag.obs), np.asarray(frag.acts)
            rews = np.asarray(frag.rews, dtype=np.float64)
            t = len(acts)
            if t == 0 or len(obs) != t + 1 or rews.shape != (t,):
                raise StoreError(
                    f"{where}: a fragment needs T>0 actions, T rewards and T+1 observations; got "
                    f"{len(obs)} observations, {t} actions, rewards of shape {rews.shape}"
                )
            if obs.shape[1:] != obs_shape:
                raise StoreError(
                    f"{where}: observations have shape {obs.shape[1:]}, the dataset's space needs {obs_shape}"
                )
            if not np.isfinite(rews).all() or (np.issubdtype(obs.dtype, np.floating) and not np.isfinite(obs).all()):
                raise StoreError(f"{where}: fragment holds NaN or inf")
            cols[f"obs{side}"].append(obs.astype(obs_dtype, copy=False))
            cols[f"acts{side}"].append(acts.astype(act_dtype, copy=False).reshape((t,) + act_shape))
            cols[f"rews{side}"].append(rews)
        if len(left) != len(right):
            raise StoreError(
                f"{where}: the fragments have {len(left)} and {len(right)} steps; a pair needs equal lengths"
            )
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
                "extra": json_safe(extra or {}, f"{where}: extra"),
            }
        )
    header = {"created_utc": now, "pairs": metas, "offsets": offsets}
    return {c: np.concatenate(cols[c]) for c in PAIR_COLUMNS}, header
