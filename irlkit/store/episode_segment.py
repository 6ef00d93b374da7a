"""How episodes lie in a segment: metadata in `segment.json`, columns obs (T+1 rows per episode), acts, rews.

`EpisodeSegment` checks the header a reader depends on before any column is read: an `episodes`
list of metadata objects, each with a whole, positive length and a numeric return (an edited
length would otherwise surface as an IndexError deep inside `to_transitions`), and the
`infos.jsonl` lines when the segment has them.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np

from irlkit.errors import StoreError
from irlkit.store.episode import EpisodeMeta
from irlkit.store.segment import Segment


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
                raise self._damaged(f"gives episode {k} the length {m.length!r}; a length is a whole number of "
                                    "steps, at least 1")
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
            raise StoreError(f"{self.where()}: infos.jsonl is not valid JSON lines ({err}). {self.fix_hint()}") from None
        if len(out) != len(self.metas):
            raise StoreError(f"{self.where()}: infos.jsonl has {len(out)} lines for {len(self.metas)} episodes; it was "
                             f"edited. {self.fix_hint()}")
        for k, (infos, m) in enumerate(zip(out, self.metas)):
            if infos is not None and (not isinstance(infos, list) or len(infos) != m.length
                                      or not all(isinstance(i, dict) for i in infos)):
                raise StoreError(f"{self.where()}: infos.jsonl line {k + 1} is not a list of {m.length} step infos "
                                 f"(objects), one per step of episode {k}; it was edited. {self.fix_hint()}")
        return out
