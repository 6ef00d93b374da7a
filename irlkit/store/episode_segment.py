"""How episodes lie in a segment: metadata in `segment.json`, columns obs (T+1 rows per episode), acts, rews.

`lay_out_episodes` turns new episodes into a segment's columns and header, refusing any that do not
fit the dataset (checks.py). `EpisodeSegment` reads one back and checks the header a reader depends on before any column is read: an `episodes`
list of metadata objects, each with a whole, positive length and a numeric return (an edited
length would otherwise surface as an IndexError deep inside `to_transitions`), and the
`infos.jsonl` lines when the segment has them.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any, Optional, Sequence

import numpy as np
from gymnasium import spaces

from irlkit import __version__
from irlkit.errors import StoreError
from irlkit.store.checks import check_episode_arrays
from irlkit.store.episode import SOURCES, Episode, EpisodeMeta, check_operator, utc_now
from irlkit.store.jsonio import json_safe
from irlkit.store.segment import Segment
from irlkit.store.spaces import storage_dtype


def lay_out_episodes(
    episodes: Sequence[Episode], dataset: str, env_id: str, observation_space: spaces.Space, action_space: spaces.Space
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, bytes]]:
    """The columns, header fields and extra files of a new segment holding `episodes`.

    Each episode is checked first (lengths, NaN/inf, values inside the spaces, JSON-safe metadata,
    a known source, a pseudonym for the operator) and refused with its number and field named;
    the store fills in its id, length, return and how it ended."""
    obs_dtype, act_dtype = storage_dtype(observation_space), storage_dtype(action_space)
    act_shape = tuple(action_space.shape or ())
    metas, obs_cols, act_cols, rew_cols, infos = [], [], [], [], []
    for n, ep in enumerate(episodes):
        where = f"dataset {dataset!r}, new episode {n}"
        ep.check_shapes(where)
        obs, acts, rews = np.asarray(ep.obs), np.asarray(ep.acts), np.asarray(ep.rews, dtype=np.float64)
        check_episode_arrays(where, obs, acts, rews, observation_space, action_space)
        meta = dataclasses.replace(ep.meta)
        if meta.source not in SOURCES:
            raise StoreError(f"{where}: source {meta.source!r} is not one of {', '.join(SOURCES)}")
        if meta.operator is not None:
            check_operator(meta.operator)
        meta.episode_id = meta.episode_id or uuid.uuid4().hex[:16]
        meta.env_id = meta.env_id or env_id
        meta.length, meta.episode_return = len(acts), float(rews.sum())
        meta.terminated, meta.truncated = bool(ep.terminated), bool(ep.truncated)
        meta.irlkit_version = meta.irlkit_version or __version__
        metas.append(json_safe(meta.to_json(), f"{where}: metadata"))
        obs_cols.append(obs.astype(obs_dtype, copy=False))
        act_cols.append(acts.astype(act_dtype, copy=False).reshape((len(acts),) + act_shape))
        rew_cols.append(rews)
        infos.append(json_safe(ep.infos, f"{where}: infos") if ep.infos is not None else None)
    has_infos = any(i is not None for i in infos)
    header: dict[str, Any] = {"created_utc": utc_now(), "episodes": metas, "has_infos": has_infos}
    extra = {"infos.jsonl": "".join(json.dumps(i) + "\n" for i in infos).encode("utf-8")} if has_infos else {}
    columns = {"obs": np.concatenate(obs_cols), "acts": np.concatenate(act_cols), "rews": np.concatenate(rew_cols)}
    return columns, header, extra


class EpisodeSegment(Segment):
    """A segment of episodes: per-episode metadata in `segment.json`, columns obs, acts, rews."""

    HEADER_FILE = "segment.json"
    KIND = "segment"
    UNIT = "episodes"

    def _parse(self) -> None:
        episodes = self.header.get("episodes")
        if not isinstance(episodes, list):
            raise self._damaged("has no 'episodes' list (each episode's metadata)")
        metas = []
        for k, raw in enumerate(episodes):
            if not isinstance(raw, dict):
                raise self._damaged(f"holds episode {k}'s metadata as a {type(raw).__name__}, not an object")
            try:
                m = EpisodeMeta.from_json(raw)
            except (TypeError, ValueError) as err:
                raise self._damaged(f"holds metadata for episode {k} that cannot be read ({err})") from None
            if isinstance(m.length, bool) or not isinstance(m.length, int) or m.length < 1:
                raise self._damaged(
                    f"gives episode {k} the length {m.length!r}; a length is a whole number of steps, at least 1"
                )
            if isinstance(m.episode_return, bool) or not isinstance(m.episode_return, (int, float)):
                raise self._damaged(f"gives episode {k} the return {m.episode_return!r}, which is not a number")
            for flag in ("terminated", "truncated", "discarded"):
                if not isinstance(getattr(m, flag), bool):
                    raise self._damaged(f"gives episode {k} {flag}={getattr(m, flag)!r}; it must be true or false")
            m.episode_return = float(m.episode_return)
            m.episode_id = str(m.episode_id)
            metas.append(m)
        self.metas: list[EpisodeMeta] = metas
        self.count = len(metas)
        lengths = np.asarray([m.length for m in metas], dtype=np.int64)
        self.act_offsets: np.ndarray = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        """Start row of each episode in acts.npy / rews.npy (episodes + 1 entries)."""
        self.obs_offsets: np.ndarray = self.act_offsets + np.arange(len(lengths) + 1)
        """Start row of each episode in obs.npy (each has T+1 rows)."""
        self.has_infos = bool(self.header.get("has_infos"))
        self._infos: Optional[list[Optional[list[dict[str, Any]]]]] = None

    def required_files(self) -> list[str]:
        return super().required_files() + (["infos.jsonl"] if self.has_infos else [])

    def rows(self, column: str) -> int:
        steps = int(self.act_offsets[-1])
        return steps + len(self.metas) if column == "obs" else steps

    def infos(self, index: int) -> Optional[list[dict[str, Any]]]:
        """Episode `index`'s per-step infos (None when the segment has none)."""
        if not self.has_infos:
            return None
        if self._infos is None:
            self._infos = self._read_infos()
        return self._infos[index]

    def _read_infos(self) -> list[Optional[list[dict[str, Any]]]]:
        try:
            lines = (self.path / "infos.jsonl").read_bytes().splitlines()
            out = [json.loads(line) for line in lines]
        except OSError as err:
            raise StoreError(f"{self.where()}: infos.jsonl cannot be read ({err}). {self.fix_hint()}") from None
        except (ValueError, RecursionError) as err:
            raise StoreError(
                f"{self.where()}: infos.jsonl is not valid JSON lines ({err}). {self.fix_hint()}"
            ) from None
        if len(out) != len(self.metas):
            raise StoreError(
                f"{self.where()}: infos.jsonl has {len(out)} lines for {len(self.metas)} episodes; it was "
                f"edited. {self.fix_hint()}"
            )
        for k, (infos, m) in enumerate(zip(out, self.metas)):
            if infos is not None and (
                not isinstance(infos, list) or len(infos) != m.length or not all(isinstance(i, dict) for i in infos)
            ):
                raise StoreError(
                    f"{self.where()}: infos.jsonl line {k + 1} is not a list of {m.length} step infos "
                    f"(objects), one per step of episode {k}; it was edited. {self.fix_hint()}"
                )
        return out
