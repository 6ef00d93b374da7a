"""JSON in and out of the store: metadata is plain JSON, so reading a dataset never runs code.

`read_json` turns every way a metadata file can be missing or damaged into one `StoreError`
paragraph; `json_safe` refuses (rather than pickles) anything that is not plain data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from irlkit.errors import StoreError


def read_json(path: Path, what: str) -> Any:
    """The parsed contents of `path`; `what` names the thing it describes in error messages."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise StoreError(f"{what}: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise StoreError(f"{what}: {path} is not valid JSON ({err}); the file is damaged") from None
    except RecursionError:
        raise StoreError(f"{what}: {path} is nested too deeply to be metadata; the file is damaged") from None


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """Like `read_json`, for files that must hold a JSON object."""
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise StoreError(f"{what}: {path} holds a JSON {type(data).__name__}, not an object; the file is damaged")
    return data


def to_json_bytes(value: Any, *, indent: int = 1, sort_keys: bool = False) -> bytes:
    return (json.dumps(value, indent=indent, sort_keys=sort_keys) + "\n").encode("utf-8")


def json_safe(value: Any, where: str) -> Any:
    """`value` as plain JSON (numpy scalars and arrays become numbers and lists), or a StoreError."""
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=_np_default))
    except (TypeError, ValueError) as err:
        raise StoreError(f"{where} is not JSON-safe ({err}); store plain numbers, strings, lists and dicts") from None


def _np_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")
