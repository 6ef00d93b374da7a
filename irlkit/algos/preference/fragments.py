"""Where preference learning's fragments come from and where its labels go.

The learner's env is wrapped to record every trajectory with its true rewards (for the simulated
teacher and the labelling page) and every observation (for the state-entropy bonus); each query
draws its pairs from all trajectories so far. Labels go into imitation's `PreferenceDataset`,
less the pairs nobody answered.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, cast

import numpy as np
from imitation.algorithms import preference_comparisons as pc
from imitation.data import rollout, types
from imitation.data.types import TrajectoryWithRew
from imitation.data.wrappers import BufferingWrapper

from irlkit.algos.preference.rewards import StatePool
from irlkit.algos.relabel import AbsorbingStates


class FragmentRecorder(BufferingWrapper):
    """imitation's BufferingWrapper (which keeps the true rewards, for the simulated teacher and
    the labelling page) that also keeps every observation for the state-entropy bonus."""

    def __init__(self, venv: Any, states: StatePool):
        super().__init__(venv, error_on_premature_reset=False)
        self.states = states

    def reset(self, **kwargs: Any) -> Any:
        obs = super().reset(**kwargs)
        self.states.add(obs)
        return obs

    def step_wait(self) -> Any:
        obs, rews, dones, infos = super().step_wait()
        self.states.add(obs)
        return obs, rews, dones, infos


class TrajectoryPool:
    """Every trajectory (piece) recorded so far: the fragments of a query are drawn from all of it
    (PEBBLE draws from its whole replay buffer).

    With absorbing states (envs whose episodes terminate), trajectories are kept in the reward
    model's input space: observations carry the absorbing indicator, and an episode that
    terminated continues for `fragment_length - 1` steps in the absorbing state with true reward 0
    (seals' absorb-after-done), so a fragment may run past the end of an episode and the labels
    say what ending is worth. (Continuing it to the time limit instead, so that whole fragments of
    the absorbing state are compared with carrying on, was measured and not adopted: BENCHMARKS.md.)"""

    def __init__(
        self, recorder: FragmentRecorder, absorbing: Optional[AbsorbingStates] = None, fragment_length: int = 1
    ):
        self.recorder = recorder
        self.absorbing = absorbing
        self.fragment_length = fragment_length
        self.trajectories: list[TrajectoryWithRew] = []

    def refresh(self) -> list[TrajectoryWithRew]:
        new, _ = self.recorder.pop_trajectories()
        self.trajectories.extend(self._model_space(t) for t in new if len(t) > 0)
        return self.trajectories

    def _model_space(self, traj: TrajectoryWithRew) -> TrajectoryWithRew:
        ab = self.absorbing
        if ab is None:
            return traj
        obs, acts, rews = ab.pad(np.asarray(traj.obs)), np.asarray(traj.acts), np.asarray(traj.rews, dtype=np.float32)
        if traj.terminal:
            # DAC: the terminal observation becomes the absorbing state, which then loops on itself.
            n = self.fragment_length - 1
            obs = np.concatenate([obs[:-1], ab.absorbing(n + 1)])
            acts = np.concatenate([acts, ab.absorbing_actions(n).reshape((n, *acts.shape[1:])).astype(acts.dtype)])
            rews = np.concatenate([rews, np.zeros(n, np.float32)])
        return TrajectoryWithRew(obs=obs, acts=acts, infos=None, terminal=traj.terminal, rews=rews)

    def snapshot(self) -> list[TrajectoryWithRew]:
        """Every trajectory so far without popping the recorder: the pool, the episodes finished since
        the last query, and the episode in progress cut where it stands (non-terminal), which is
        what a resumed run, starting a fresh episode, will have had (for checkpoints)."""
        rec = self.recorder
        pending = list(getattr(rec, "_trajectories", []))
        accum = getattr(rec, "_traj_accum", None)
        if accum is not None:
            for key, steps in list(accum.partial_trajectories.items()):
                if len(steps) > 1:
                    copy = rollout.TrajectoryAccumulator()
                    copy.partial_trajectories[key] = list(steps)
                    pending.append(copy.finish_trajectory(key, terminal=False))
        return [*self.trajectories, *(self._model_space(t) for t in pending if len(t) > 0)]

    def longest(self) -> int:
        return max((len(t) for t in self.trajectories), default=0)

    def sample_transitions(self, n: int, rng: np.random.Generator) -> Optional[tuple[np.ndarray, ...]]:
        if not self.trajectories:
            return None
        trans = rollout.flatten_trajectories(self.trajectories[-2000:])
        idx = rng.integers(0, len(trans), size=min(n, len(trans)))
        obs = types.assert_not_dictobs(trans.obs)
        next_obs = types.assert_not_dictobs(trans.next_obs)
        return obs[idx], trans.acts[idx], next_obs[idx], trans.dones[idx].astype(np.float32)


def recent_episodes(trajectories: list[TrajectoryWithRew], n: int, length: int) -> list[TrajectoryWithRew]:
    """The last `n` episodes at least `length` steps long, and the last `n` that terminated (in
    order): the pairs judge what the learner does now (`PreferenceConfig.query_episodes`), and an
    episode that ended (MountainCarContinuous' flag), where labels say what ending is worth, does
    not age out of the window when the learner no longer reaches it."""
    usable = [t for t in trajectories if len(t) >= length]
    keep = {id(t) for t in usable[-n:]} | {id(t) for t in [t for t in usable if t.terminal][-n:]}
    return [t for t in usable if id(t) in keep]


class SkippablePreferenceDataset(pc.PreferenceDataset):
    """imitation's PreferenceDataset that leaves out pairs whose preference is NaN ("no answer")."""

    def push(self, fragments: Sequence[Any], preferences: np.ndarray) -> None:
        preferences = np.asarray(preferences, dtype=np.float32)
        if preferences.shape != (len(fragments),):
            raise ValueError(f"Unexpected preferences shape {preferences.shape}, expected {(len(fragments),)}")
        keep = ~np.isnan(preferences)
        if not keep.any():
            return
        super().push([f for f, k in zip(fragments, keep) if k], preferences[keep])


def pack_trajectories(trajs: Sequence[TrajectoryWithRew], prefix: str, arrays: dict[str, np.ndarray]) -> int:
    """Store trajectories as concatenated arrays `<prefix>.obs/acts/rews/lengths/terminal` (no pickle;
    `infos` are not kept: nothing downstream of a fragment reads them). Returns how many."""
    if not trajs:
        return 0
    arrays[f"{prefix}.obs"] = np.concatenate([np.asarray(t.obs) for t in trajs])
    arrays[f"{prefix}.acts"] = np.concatenate([np.asarray(t.acts) for t in trajs])
    arrays[f"{prefix}.rews"] = np.concatenate([np.asarray(t.rews) for t in trajs])
    arrays[f"{prefix}.lengths"] = np.asarray([len(t.acts) for t in trajs], dtype=np.int64)
    arrays[f"{prefix}.terminal"] = np.asarray([bool(t.terminal) for t in trajs], dtype=bool)
    return len(trajs)


def unpack_trajectories(prefix: str, arrays: dict[str, np.ndarray]) -> list[TrajectoryWithRew]:
    """The trajectories `pack_trajectories` stored under `prefix` ([] when none)."""
    if f"{prefix}.lengths" not in arrays:
        return []
    lengths = arrays[f"{prefix}.lengths"]
    obs, acts, rews, terminal = (arrays[f"{prefix}.{k}"] for k in ("obs", "acts", "rews", "terminal"))
    out, o, a = [], 0, 0
    for n, term in zip(lengths.tolist(), terminal.tolist()):
        out.append(
            TrajectoryWithRew(
                obs=obs[o : o + n + 1], acts=acts[a : a + n], infos=None, terminal=bool(term), rews=rews[a : a + n]
            )
        )
        o, a = o + n + 1, a + n
    return out


def env_space_fragment(frag: TrajectoryWithRew) -> TrajectoryWithRew:
    """A model-space fragment as the annotator sees it: env observations, the absorbing steps shown
    as the last real observation repeated (the episode has ended: the picture stands still)."""
    obs = np.array(frag.obs[:, :-1])
    absorbing = cast(np.ndarray, frag.obs)[:, -1] > 0.5  # model-space obs are arrays, never DictObs
    if absorbing.any():
        real = np.flatnonzero(~absorbing)
        obs[absorbing] = obs[real[-1]] if len(real) else 0.0
    return TrajectoryWithRew(obs=obs, acts=frag.acts, infos=None, terminal=frag.terminal, rews=frag.rews)


def model_space_fragment(frag: TrajectoryWithRew, absorbing: AbsorbingStates) -> TrajectoryWithRew:
    """Fragments an annotator pushes itself (a person, a saved dataset) come in env observations:
    they get the absorbing indicator 0 (model-space fragments pass unchanged)."""
    if np.asarray(frag.obs).shape[-1] == absorbing.space.shape[0]:
        return frag
    return TrajectoryWithRew(
        obs=absorbing.pad(np.asarray(frag.obs)), acts=frag.acts, infos=None, terminal=frag.terminal, rews=frag.rews
    )
