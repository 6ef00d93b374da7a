"""A dataset (or a selection of it) as imitation's types, without a Python loop over steps.

- `to_trajectories`: `TrajectoryWithRew`s whose arrays are views of the memory-mapped columns.
- `to_transitions`: one `Transitions`. Observations are stored T+1 rows per episode, so `obs` and
  `next_obs` are each one masked copy of the column (the rows that are not an episode's last, and
  not its first); `acts` is the column itself when a whole segment is selected. This is what makes
  1M transitions load in tens of milliseconds where imitation's `serialize.load` +
  `flatten_trajectories` takes seconds (BENCHMARKS.md, "Demos store").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from irlkit.store.dataset import Dataset

TERMINALS = ("done", "terminated")
"""`done`: every episode end is terminal (what imitation's rollouts mark for the learner's samples,
which adversarial methods compare demos against); `terminated`: truncated episodes stay
non-terminal (for algorithms that bootstrap through time limits)."""


def _check_terminal(terminal: str) -> None:
    if terminal not in TERMINALS:
        raise ValueError(f"terminal={terminal!r}: choose 'done' or 'terminated'")


def to_trajectories(ds: "Dataset", *, terminal: str = "done") -> list:
    from imitation.data.types import TrajectoryWithRew

    ds.require_episodes()
    _check_terminal(terminal)
    out = []
    for ep in ds.episodes():
        is_terminal = ep.terminated or (terminal == "done" and ep.truncated)
        out.append(TrajectoryWithRew(obs=ep.obs, acts=ep.acts, infos=None, terminal=is_terminal, rews=ep.rews))
    return out


def to_transitions(ds: "Dataset", *, terminal: str = "done") -> Any:
    from imitation.data.types import Transitions

    ds.require_episodes()
    _check_terminal(terminal)
    obs_parts, next_parts, act_parts, done_parts = [], [], [], []
    for seg, indices in ds.selected_segments():
        obs, acts = seg.column("obs"), seg.column("acts")
        lengths = np.diff(seg.act_offsets)
        ends = seg.act_offsets[1:] - 1  # last action row of each episode
        done_flags = np.array([m.terminated or (terminal == "done" and m.truncated) for m in seg.metas], dtype=bool)
        if len(indices) == len(seg.metas):
            is_last_obs = np.zeros(len(obs), dtype=bool)
            is_last_obs[seg.obs_offsets[1:] - 1] = True
            is_first_obs = np.zeros(len(obs), dtype=bool)
            is_first_obs[seg.obs_offsets[:-1]] = True
            obs_parts.append(obs[~is_last_obs])
            next_parts.append(obs[~is_first_obs])
            act_parts.append(acts)
            dones = np.zeros(len(acts), dtype=bool)
            dones[ends] = done_flags
            done_parts.append(dones)
        else:
            idx = np.asarray(indices)
            act_rows = np.concatenate([np.arange(seg.act_offsets[i], seg.act_offsets[i + 1]) for i in idx])
            obs_rows = np.concatenate([np.arange(seg.obs_offsets[i], seg.obs_offsets[i + 1] - 1) for i in idx])
            obs_parts.append(obs[obs_rows])
            next_parts.append(obs[obs_rows + 1])
            act_parts.append(acts[act_rows])
            dones = np.zeros(int(lengths[idx].sum()), dtype=bool)
            dones[np.cumsum(lengths[idx]) - 1] = done_flags[idx]
            done_parts.append(dones)

    def join(parts: list[np.ndarray]) -> np.ndarray:
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    acts = join(act_parts)
    infos = np.empty(len(acts), dtype=object)
    infos.fill({})  # one shared empty dict: imitation only reads infos, and 1M dicts cost 100 ms
    return Transitions(obs=join(obs_parts), acts=acts, infos=infos, next_obs=join(next_parts), dones=join(done_parts))
