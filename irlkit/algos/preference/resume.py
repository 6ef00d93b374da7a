"""A preference run's checkpoint: what `python -m irlkit resume=<run folder>` needs to continue an
off-policy preference run to its full budget, asking each of `total_comparisons` once.

Saved, with no pickle (tensors, numpy arrays and JSON counters): the learner (nets, optimizers,
SB3 counters, the used rows of its replay buffer, soft DQN's temperature and `_n_calls`); the
kept-policy candidates (weights and selection episodes); the reward ensemble's state dict (its
input scaling included) and each member's AdamW state; every labelled pair (fragments'
obs/acts/rews/terminal and the preferences); the fragment pool the queries draw from, with the
episodes finished since the last query and the episode in progress cut where it stands; every
visited state (the entropy bonus's reference) and the bonus's running std and RNG; the learner
reward's mode and standardisation; the counters (asked, queries, reward updates, last accuracy);
the annotator's counters (the simulated teacher's return range and tallies, the human / dataset
gatherers' round number, so a person is asked the next round, not the first again; their labels
are in the preference dataset on disk as before); and how many labels.csv rows were written. The
run's own RNG (`ctx.rng`: fragment draws, teacher noise, reward batch order) is saved by
irlkit.train.

Not saved, so a resumed run is not bit-identical to an unkilled one: the env's state (a resumed
run starts a fresh episode where the killed one was mid-episode, and the cut episode stays in the
pool as a non-terminal piece), the fragments' `infos`, and the global numpy/torch RNG streams SB3
draws its exploration from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from irlkit.algos.checkpoint import Checkpoint
from irlkit.algos.preference.fragments import pack_trajectories, unpack_trajectories
from irlkit.errors import IrlkitError

if TYPE_CHECKING:
    from irlkit.algos.preference.trainer import PreferenceTrainer

GATHERER_STATE = ("calls", "answered", "skipped", "asked", "equal", "flipped", "low", "high")
"""Counters of the annotators (irlkit's simulated teacher, irlkit.feedback's human and dataset gatherers)
that a checkpoint keeps: the teacher's return range and tallies, the gatherers' round number."""


def preference_checkpoint(t: PreferenceTrainer) -> Checkpoint:
    """The off-policy trainer `t`'s state (module docstring)."""
    from irlkit.algos.offpolicy import OffPolicyTrainer

    ckpt = OffPolicyTrainer.checkpoint(t)  # type: ignore[arg-type]
    tensors, arrays, meta = ckpt.tensors, ckpt.arrays, ckpt.meta
    tensors["pref/reward_net"] = t.reward_net.state_dict()
    tensors["pref/reward_optimizers"] = [opt.state_dict() for opt in t.reward_trainer.optimizers]
    pack_trajectories(list(t.dataset.fragments1), "pref.labels1", arrays)
    pack_trajectories(list(t.dataset.fragments2), "pref.labels2", arrays)
    arrays["pref.preferences"] = np.asarray(t.dataset.preferences, dtype=np.float32)
    pack_trajectories(t.pool.snapshot(), "pref.pool", arrays)
    arrays["pref.states"] = t.states.array()
    entropy = t.reward.entropy
    gatherer: Any = t.gatherer
    meta["pref"] = {
        "asked": t.asked,
        "queries_done": t.queries_done,
        "reward_updates": t.reward_updates,
        "last_reward_accuracy": t.last_reward_accuracy,
        "steps": t._steps,
        "reward": {"mode": t.reward.mode, "mean": t.reward._mean, "std": t.reward._std},
        "entropy": entropy.state() if entropy is not None else None,
        "gatherer": {k: v for k in GATHERER_STATE if isinstance(v := getattr(gatherer, k, None), (int, float))},
        "label_curve": t._curve.state(),
    }
    return ckpt


def restore_preference(t: PreferenceTrainer, ckpt: Checkpoint) -> None:
    """Put `preference_checkpoint`'s state back into `t`, freshly built with the same config."""
    from irlkit.algos.offpolicy import OffPolicyTrainer

    if t.kind == "ppo" or "pref" not in ckpt.meta:
        raise IrlkitError(
            "this checkpoint was not written by an off-policy preference run; remove the run "
            "folder's checkpoint/ to train it again from the start"
        )
    OffPolicyTrainer.restore(t, ckpt)  # type: ignore[arg-type]
    meta, arrays = ckpt.meta["pref"], ckpt.arrays
    t.reward_net.load_state_dict(ckpt.tensors["pref/reward_net"])
    for opt, state in zip(t.reward_trainer.optimizers, ckpt.tensors["pref/reward_optimizers"]):
        opt.load_state_dict(state)
    firsts, seconds = unpack_trajectories("pref.labels1", arrays), unpack_trajectories("pref.labels2", arrays)
    if firsts:  # into the dataset object itself: an attached gatherer (irlkit.feedback) holds it too
        t.dataset.push(list(zip(firsts, seconds)), np.asarray(arrays["pref.preferences"], dtype=np.float32))
    t.pool.trajectories = unpack_trajectories("pref.pool", arrays)
    t.states.load(arrays["pref.states"])
    if meta["entropy"] is not None and t.reward.entropy is not None:
        t.reward.entropy.load_state(meta["entropy"])
    t.asked, t.queries_done = int(meta["asked"]), int(meta["queries_done"])
    t.reward_updates, t.last_reward_accuracy = int(meta["reward_updates"]), meta["last_reward_accuracy"]
    t._steps = int(meta["steps"])
    reward = meta["reward"]
    t.reward.mode, t.reward._mean, t.reward._std = reward["mode"], float(reward["mean"]), float(reward["std"])
    if t.reward.mode == "learned":
        t.reward._model = t.reward_net
    for key, value in meta["gatherer"].items():
        if hasattr(t.gatherer, key):
            setattr(t.gatherer, key, value)
    t._curve.restore(meta["label_curve"])
    if t.selector is not None and t.reward_updates > 0:
        t.selector.set_score(t.learned_returns)
