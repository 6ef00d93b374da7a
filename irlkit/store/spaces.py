"""Gymnasium spaces as plain JSON, so a dataset says what it holds without pickle.

Only the flat spaces that imitation's algorithms accept are supported; a dataset whose env has a
Dict or Tuple space is refused at creation with a message saying so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from irlkit.errors import StoreError


def _bound_to_json(arr: np.ndarray) -> Any:
    """Bounds may hold +-inf, which JSON has no literal for: store them as strings."""
    out = []
    for v in np.asarray(arr, dtype=np.float64).ravel().tolist():
        out.append("inf" if v == np.inf else "-inf" if v == -np.inf else v)
    return out


def _bound_from_json(values: list, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    floats = [float(v) for v in values]
    return np.asarray(floats, dtype=np.float64).reshape(shape).astype(dtype)


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    """Serialize a flat gymnasium space to a JSON-safe dict."""
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": np.dtype(space.dtype).str,
            "low": _bound_to_json(space.low),
            "high": _bound_to_json(space.high),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": np.asarray(space.nvec).tolist(),
            "dtype": np.dtype(space.dtype).str,
        }
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    raise StoreError(
        f"the demos store cannot hold a {type(space).__name__} space ({space}); it supports Box, "
        "Discrete, MultiDiscrete and MultiBinary. Flatten the env's observations first "
        "(gymnasium.wrappers.FlattenObservation)."
    )


def space_from_json(data: dict[str, Any]) -> spaces.Space:
    """Rebuild a space written by `space_to_json`; unknown types are refused, never evaluated."""
    kind = data.get("type")
    try:
        if kind == "Box":
            shape = tuple(int(s) for s in data["shape"])
            dtype = np.dtype(data["dtype"])
            low = _bound_from_json(data["low"], shape, dtype)
            high = _bound_from_json(data["high"], shape, dtype)
            return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
        if kind == "Discrete":
            return spaces.Discrete(int(data["n"]), start=int(data.get("start", 0)))
        if kind == "MultiDiscrete":
            return spaces.MultiDiscrete(np.asarray(data["nvec"]), dtype=np.dtype(data["dtype"]))
        if kind == "MultiBinary":
            n = data["n"]
            return spaces.MultiBinary(n if isinstance(n, int) else list(n))
    except (KeyError, TypeError, ValueError) as err:
        raise StoreError(f"malformed space description {data!r}: {err}") from err
    raise StoreError(f"unknown space type {kind!r} in dataset metadata")


def spaces_match(a: spaces.Space, b: spaces.Space) -> bool:
    """Equal type, shape, dtype and bounds (bounds compared after the space's own dtype cast)."""
    return space_to_json(a) == space_to_json(b)


def describe_space(space: spaces.Space) -> str:
    """A short human-readable form for tables and error messages."""
    if isinstance(space, spaces.Box):
        return f"Box{tuple(space.shape)} {np.dtype(space.dtype).name}"
    if isinstance(space, spaces.Discrete):
        return f"Discrete({space.n})"
    return str(space)


def storage_dtype(space: spaces.Space) -> np.dtype:
    """The dtype arrays of this space are stored with (what the env itself emits)."""
    if isinstance(space, spaces.Discrete):
        return np.dtype(np.int64)
    return np.dtype(space.dtype)


def _inside_box(flat: np.ndarray, low: np.ndarray, high: np.ndarray) -> bool:
    """Whether every row of `flat` lies in the box, in whole-column passes (no per-row reduction).

    With few dimensions, one strided pass per finite bound beats numpy's broadcasting against a
    short bound vector (~20x on CartPole-sized rows); a NaN anywhere, or an inf in a dimension with
    a finite lower bound, counts as outside (as `out_of_space`'s row check says)."""
    floating = np.issubdtype(flat.dtype, np.floating)
    if floating and np.isnan(flat).any():
        return False
    has_inf = floating and bool(np.isinf(flat).any())
    if flat.shape[1] > 32:
        inside = bool((flat >= low).all()) and bool((flat <= high).all())
        finite_low = np.isfinite(low)
        if inside and has_inf and finite_low.any():
            inside = bool(np.isfinite(flat[:, finite_low]).all())
        return inside
    for j, column in enumerate(flat.T):
        if np.isfinite(low[j]) and (not (column >= low[j]).all() or has_inf and not np.isfinite(column).all()):
            return False
        if np.isfinite(high[j]) and not (column <= high[j]).all():
            return False
    return True


def out_of_space(space: spaces.Space, values: np.ndarray) -> np.ndarray:
    """Indices (along axis 0) of rows that lie outside `space`, vectorized for speed."""
    values = np.asarray(values)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if isinstance(space, spaces.Box):
        flat = values.reshape(len(values), -1)
        if flat.dtype != space.dtype:
            flat = flat.astype(np.float64, copy=False)
        low = np.asarray(space.low, dtype=flat.dtype).ravel()
        high = np.asarray(space.high, dtype=flat.dtype).ravel()
        if _inside_box(flat, low, high):  # sound data, the common case: rows are only looked at otherwise
            return np.zeros(0, dtype=np.int64)
        f, lo, hi = flat.astype(np.float64, copy=False), low.astype(np.float64), high.astype(np.float64)
        bad = ((f < lo) | (f > hi) | ~np.isfinite(f) & np.isfinite(lo)).any(axis=1)
        bad |= np.isnan(f).any(axis=1)
        return np.flatnonzero(bad)
    if isinstance(space, spaces.Discrete):
        v = values.reshape(len(values))
        bad = (v < space.start) | (v >= space.start + space.n)
        if np.issubdtype(values.dtype, np.floating):
            bad |= v != np.round(v)
        return np.flatnonzero(bad)
    if isinstance(space, spaces.MultiDiscrete):
        flat = values.reshape(len(values), -1)
        bad = ((flat < 0) | (flat >= np.asarray(space.nvec).ravel())).any(axis=1)
        return np.flatnonzero(bad)
    if isinstance(space, spaces.MultiBinary):
        flat = values.reshape(len(values), -1)
        return np.flatnonzero(((flat != 0) & (flat != 1)).any(axis=1))
    return np.zeros(0, dtype=np.int64)
