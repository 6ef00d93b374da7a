"""Resumable checkpoints of a trainer, written atomically and read back without running any code.

A checkpoint is three things: state dicts and other tensors (`torch.save`, read with
`torch.load(weights_only=True)`, which refuses pickled objects), large arrays such as replay buffers
(`.npy`, `allow_pickle=False`), and JSON for counters and RNG states. No pickle anywhere, so a
tampered run folder cannot execute code when a run is resumed.

On disk, in the run folder::

    checkpoint/state.json      meta (format version, what wrote it) and the trainer's JSON state
    checkpoint/tensors.pt      tensors and state dicts
    checkpoint/arrays/*.npy    large arrays

A new checkpoint is written to `checkpoint.tmp/`, fsync'd, and swapped in by two renames
(`checkpoint` -> `checkpoint.old`, `checkpoint.tmp` -> `checkpoint`); a kill between them leaves
`checkpoint.old`, which `read_checkpoint` then uses. `checkpoint.tmp/` is never read.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any, Optional, cast

import numpy as np
import torch as th

from irlkit.errors import IrlkitError

FORMAT = 1
FOLDER = "checkpoint"


@dataclasses.dataclass
class Checkpoint:
    """A trainer's state between two rounds: enough to continue its training to the full budget."""

    tensors: dict[str, Any] = dataclasses.field(default_factory=dict)
    """State dicts and tensors, nested in dicts and lists."""
    arrays: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    """Large numeric arrays (replay buffers, label sets)."""
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    """JSON-safe counters and settings."""


def _fsync_tree(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_checkpoint(ckpt: Checkpoint, run_dir: Path) -> Path:
    """Replace the run folder's checkpoint with `ckpt`, atomically."""
    run_dir = Path(run_dir)
    final, tmp, old = run_dir / FOLDER, run_dir / f"{FOLDER}.tmp", run_dir / f"{FOLDER}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "arrays").mkdir(parents=True)
    th.save(ckpt.tensors, tmp / "tensors.pt")
    for name, array in ckpt.arrays.items():
        np.save(tmp / "arrays" / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
    state = {"format": FORMAT, "arrays": sorted(ckpt.arrays), "meta": ckpt.meta}
    (tmp / "state.json").write_text(json.dumps(state, allow_nan=True) + "\n")
    _fsync_tree(tmp)
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def read_checkpoint(run_dir: Path) -> Optional[Checkpoint]:
    """The run's newest complete checkpoint, or None when it has none."""
    run_dir = Path(run_dir)
    for folder in (run_dir / FOLDER, run_dir / f"{FOLDER}.old"):
        if (folder / "state.json").is_file():
            return _read(folder)
    return None


def _read(folder: Path) -> Checkpoint:
    import pickle

    try:
        state = json.loads((folder / "state.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise IrlkitError(
            f"checkpoint {folder} is damaged ({err}); remove the folder to train the run again from the start"
        ) from None
    if state.get("format") != FORMAT:
        raise IrlkitError(f"checkpoint {folder} has format {state.get('format')!r}; this irlkit reads format {FORMAT}")
    try:
        tensors = th.load(folder / "tensors.pt", map_location="cpu", weights_only=True)
        arrays = {
            name: np.load(folder / "arrays" / f"{name}.npy", allow_pickle=False) for name in state.get("arrays", [])
        }
    except (pickle.UnpicklingError, RuntimeError, ValueError, OSError, EOFError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise IrlkitError(
            f"checkpoint {folder} cannot be read safely ({first}); it was not written by irlkit or was changed. "
            "Remove the folder to train the run again from the start."
        ) from None
    return Checkpoint(tensors=tensors, arrays=arrays, meta=state.get("meta", {}))


# ---- RNG states (python, numpy, torch, a numpy Generator) ----------------------------------------
def rng_state(rng: Optional[np.random.Generator] = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(JSON part, tensor part) of the global RNGs and, if given, a Generator's."""
    version, internal, gauss = random.getstate()
    # numpy's stub types a plain get_state() as a dict; legacy (the default) returns this tuple
    kind, keys, pos, has_gauss, cached = cast("tuple[str, np.ndarray, int, int, float]", np.random.get_state())
    meta: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }
    if rng is not None:
        meta["generator"] = rng.bit_generator.state
    return meta, {"torch": th.get_rng_state()}


def set_rng_state(meta: dict[str, Any], tensors: dict[str, Any], rng: Optional[np.random.Generator] = None) -> None:
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    th.set_rng_state(tensors["torch"])
    if rng is not None and "generator" in meta:
        rng.bit_generator.state = meta["generator"]


# ---- stable-baselines3 learners -----------------------------------------------------------------
def sb3_state(model: Any, prefix: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    """(tensors, meta, arrays) of an SB3 algorithm: every state dict and torch variable SB3 itself
    saves (policy, optimizers, SAC's entropy coefficient), its counters, and its replay buffer."""
    state_dicts, variables = model._get_torch_save_params()
    tensors: dict[str, Any] = {}
    for name in state_dicts:
        tensors[f"{prefix}/{name}"] = _attr(model, name).state_dict()
    for name in variables or []:
        tensors[f"{prefix}/{name}"] = _attr(model, name).detach().clone()
    meta: dict[str, Any] = {
        "num_timesteps": int(model.num_timesteps),
        "n_updates": int(getattr(model, "_n_updates", 0)),
        "episode_num": int(getattr(model, "_episode_num", 0)),
    }
    arrays: dict[str, np.ndarray] = {}
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None:
        meta["buffer"] = {"pos": int(buffer.pos), "full": bool(buffer.full)}
        used = None if buffer.full else int(buffer.pos)  # a 1M-row buffer a tenth full saves a tenth
        for field in _BUFFER_FIELDS:
            value = getattr(buffer, field, None)
            if isinstance(value, np.ndarray):
                arrays[f"{prefix}.buffer.{field}"] = value[:used]
    return tensors, meta, arrays


_BUFFER_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def load_sb3_state(
    model: Any, prefix: str, tensors: dict[str, Any], meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    state_dicts, variables = model._get_torch_save_params()
    for name in state_dicts:
        _attr(model, name).load_state_dict(tensors[f"{prefix}/{name}"])
    for name in variables or []:
        with th.no_grad():
            _attr(model, name).copy_(tensors[f"{prefix}/{name}"])
    model.num_timesteps = meta["num_timesteps"]
    model._n_updates = meta.get("n_updates", 0)
    model._episode_num = meta.get("episode_num", 0)
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None and "buffer" in meta:
        for field in _BUFFER_FIELDS:
            key = f"{prefix}.buffer.{field}"
            if key in arrays:
                getattr(buffer, field)[: len(arrays[key])] = arrays[key]
        buffer.pos, buffer.full = meta["buffer"]["pos"], meta["buffer"]["full"]


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj
