"""MCE IRL's tabular policy: the time-dependent soft-optimal policy pi[t, state, action] as an array.

Saved as `policy.npy` (read back with `allow_pickle=False`) beside `policy.json` saying
`"sb3_class": "tabular"`, so run folders of every algorithm load through `irlkit.policies.load_policy`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from imitation.algorithms.mce_irl import TabularPolicy


class OneHotTabularPolicy(TabularPolicy):
    """A TabularPolicy fed the env's one-hot observations instead of state indices (seals'
    CliffWorld emits one-hot observations: its observation matrix is the identity)."""

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        obs = np.asarray(observation)
        states = obs.argmax(axis=-1) if obs.ndim >= 2 else obs
        return super().predict(states, state, episode_start, deterministic)


def save_tabular_policy(pi: Any, run_dir: Path) -> str:
    """Write `policy.npy` and its `policy.json` (each replaced atomically); returns the file name."""
    run_dir = Path(run_dir)
    tmp = run_dir / f".policy.{os.getpid()}.tmp.npy"
    np.save(tmp, np.asarray(pi), allow_pickle=False)
    os.replace(tmp, run_dir / "policy.npy")
    meta = run_dir / f".policy.json.{os.getpid()}.tmp"
    meta.write_text(json.dumps({"file": "policy.npy", "sb3_class": "tabular"}) + "\n")
    os.replace(meta, run_dir / "policy.json")
    return "policy.npy"
