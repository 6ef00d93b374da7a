"""Is this data fit to learn from? The checks on every episode written and every dataset validated.

- `check_episode_arrays`: one new episode against the dataset's spaces, before it is written;
  refuses with the first bad step named.
- `segment_problems`: a committed segment's files and values, vectorized over whole columns (a
  million transitions cost one pass per check, not a Python loop per episode), for
  `Dataset.validate` (every problem) and `Dataset.check` (the first, before training).

Both name the episode, the field and the step, in the same words, so the message `validate`
prints is the one training refuses with.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from gymnasium import spaces

from irlkit.errors import StoreError
from irlkit.store.spaces import describe_space, out_of_space

RETURN_TOLERANCE = 1e-6
"""Relative difference allowed between a stored return and the sum of the stored rewards (summation order)."""


def _nonfinite_rows(arr: np.ndarray) -> np.ndarray:
    if not np.issubdtype(arr.dtype, np.floating) or len(arr) == 0 or np.isfinite(arr).all():  # one fast pass
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))


def check_episode_arrays(
    where: str,
    obs: np.ndarray,
    acts: np.ndarray,
    rews: np.ndarray,
    observation_space: spaces.Space,
    action_space: spaces.Space,
) -> None:
    """Refuse data that does not fit the dataset's spaces, naming the first bad row."""
    obs_shape = tuple(observation_space.shape or ())
    if obs.shape[1:] != obs_shape:
        raise StoreError(
            f"{where}: field 'obs' rows have shape {obs.shape[1:]}, the dataset's observation space "
            f"{describe_space(observation_space)} needs {obs_shape}"
        )
    act_shape = tuple(action_space.shape or ())
    if acts.shape[1:] != act_shape and not (act_shape == () and acts.shape[1:] == (1,)):
        raise StoreError(
            f"{where}: field 'acts' rows have shape {acts.shape[1:]}, the dataset's action space "
            f"{describe_space(action_space)} needs {act_shape}"
        )
    for field, arr in (("obs", obs), ("acts", acts), ("rews", rews)):
        bad = _nonfinite_rows(arr)
        if len(bad):
            raise StoreError(f"{where}: field '{field}' has NaN or inf at step {int(bad[0])}")
    for field, arr, space in (
        ("obs", obs, observation_space),
        ("acts", acts.reshape((len(acts),) + act_shape), action_space),
    ):
        bad = out_of_space(space, arr)
        if len(bad):
            raise StoreError(
                f"{where}: field '{field}' at step {int(bad[0])} is {arr[bad[0]].tolist()}, outside "
                f"the space {describe_space(space)}"
            )


def segment_problems(
    segment, chosen: Sequence[tuple[int, int]], observation_space: spaces.Space, action_space: spaces.Space
) -> list[str]:
    """What is wrong with `segment` (an `EpisodeSegment`), as far as its `chosen` episodes go.

    `chosen` pairs each episode's index in the segment with its position in the caller's view
    (the number messages give it). A checksum or column problem is reported for the segment as a
    whole (and ends the check: its values cannot be trusted); value problems once per chosen
    episode, the first in this order: NaN/inf in obs, acts, rews; obs or acts outside their space;
    a stored return that differs from the rewards' sum.
    """
    problem = segment.checksum_problem()
    if problem is not None:
        return [problem]
    if not chosen:
        return []
    try:
        obs, acts, rews = segment.column("obs"), segment.column("acts"), segment.column("rews")
        if segment.has_infos:
            segment.infos(0)
    except StoreError as err:
        return [str(err)]
    first: dict[int, str] = {}  # episode index in the segment -> its first problem

    def record(rows: np.ndarray, offsets: np.ndarray, message: Callable[[int, int, int], str]) -> None:
        if len(rows) == 0:
            return
        episodes = np.searchsorted(offsets, rows, side="right") - 1
        uniq, at = np.unique(episodes, return_index=True)
        for ep, i in zip(uniq.tolist(), at.tolist()):
            if ep not in first:
                row = int(rows[i])
                first[ep] = message(ep, row - int(offsets[ep]), row)

    def nonfinite(field: str) -> Callable[[int, int, int], str]:
        return lambda ep, step, row: f"field '{field}' has NaN or inf at step {step}"

    def outside(field: str, arr: np.ndarray, space: spaces.Space) -> Callable[[int, int, int], str]:
        return lambda ep, step, row: (
            f"field '{field}' at step {step} is {np.asarray(arr[row]).tolist()}, outside "
            f"the space {describe_space(space)}"
        )

    obs_off, act_off = segment.obs_offsets, segment.act_offsets
    for field, arr, off in (("obs", obs, obs_off), ("acts", acts, act_off), ("rews", rews, act_off)):
        record(_nonfinite_rows(arr), off, nonfinite(field))
    for field, arr, off, space in (("obs", obs, obs_off, observation_space), ("acts", acts, act_off, action_space)):
        record(out_of_space(space, arr), off, outside(field, arr, space))
    sums = np.add.reduceat(rews, act_off[:-1]) if len(rews) else np.zeros(0)
    stored = np.asarray([m.episode_return for m in segment.metas], dtype=np.float64)
    differ = np.flatnonzero(np.abs(sums - stored) > RETURN_TOLERANCE * np.maximum(1.0, np.abs(sums)))
    record(
        act_off[differ],
        act_off,
        lambda ep, step, row: f"stored return {stored[ep]} differs from the rewards' sum {sums[ep]}",
    )
    out = []
    for index, position in sorted(chosen, key=lambda c: c[1]):
        if index in first:
            out.append(f"episode {position} ({segment.metas[index].episode_id}): {first[index]}")
    return out
