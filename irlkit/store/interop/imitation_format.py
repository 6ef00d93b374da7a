"""imitation's dataset folders (`imitation.data.serialize.save`), read without running code.

imitation's own `serialize.load` jsonpickle-decodes every step's `infos` on access, and jsonpickle
can construct arbitrary objects: loading an untrusted dataset that way can execute code. Here the
HuggingFace folder is opened with `datasets.load_from_disk` (Arrow, no pickle) and the `infos`
strings are parsed as plain JSON; episodes whose infos need jsonpickle lose their infos, with a
note saying so.

imitation keeps one `terminal` flag per trajectory (terminated), so on import `terminal` becomes
`terminated` and a non-terminal trajectory becomes `truncated`; exporting writes `terminal =
terminated`. An episode that is neither (which the store allows) comes back truncated.

Alongside imitation's files the exporter writes `irlkit.json` (dataset metadata and each episode's
metadata) so a round trip through imitation keeps provenance; imitation ignores the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np

from irlkit.errors import StoreError
from irlkit.store.dataset import Dataset
from irlkit.store.episode import Episode, EpisodeMeta
from irlkit.store.interop import ImportedData, json_infos_or_none
from irlkit.store.spaces import space_from_json

SIDECAR = "irlkit.json"


def _provenance(meta_json: Optional[dict[str, Any]], src: Path) -> EpisodeMeta:
    """Metadata for an imported episode: source `import`, the original provenance kept."""
    meta = EpisodeMeta(source="import", notes=f"imported from {src}")
    if meta_json:
        original = EpisodeMeta.from_json(meta_json)
        meta.operator, meta.device, meta.seed = original.operator, original.device, original.seed
        meta.started_utc, meta.ended_utc, meta.fps = original.started_utc, original.ended_utc, original.fps
        meta.discarded = original.discarded
        meta.extra = dict(original.extra, original_source=original.source, original_episode_id=original.episode_id)
        if original.notes:
            meta.notes += f"; original notes: {original.notes}"
    return meta


def read_sidecar(src: Path, n_episodes: int) -> tuple[dict[str, Any], list[Optional[dict[str, Any]]]]:
    """The dataset info and per-episode metadata an irlkit export left, if they fit the data."""
    path = src / SIDECAR if src.is_dir() else None
    if path is None or not path.exists():
        return {}, [None] * n_episodes
    try:
        side = json.loads(path.read_text(encoding="utf-8"))
        metas = side.get("episodes", [])
        if len(metas) != n_episodes:
            return {}, [None] * n_episodes
        return side.get("dataset", {}), metas
    except (ValueError, AttributeError):
        return {}, [None] * n_episodes


def read_imitation(src: Path) -> ImportedData:
    """Read an `imitation.data.serialize.save` folder or a legacy imitation `.npz`."""
    if src.is_file():
        from irlkit.store.interop.npz import read_npz

        return read_npz(src, env_max_steps=None)
    import datasets

    try:
        hf = datasets.load_from_disk(str(src))
    except (FileNotFoundError, ValueError, OSError) as err:
        raise StoreError(
            f"{src} is not an imitation dataset folder ({err}); it should be what imitation.data.serialize.save writes"
        ) from None
    if not isinstance(hf, datasets.Dataset):
        raise StoreError(f"{src} holds a DatasetDict, not one imitation dataset")
    missing = {"obs", "acts", "terminal"} - set(hf.column_names)
    if missing:
        raise StoreError(f"{src} is not an imitation dataset: columns {sorted(missing)} are missing")
    info, metas = read_sidecar(src, len(hf))
    has_rews = "rews" in hf.column_names
    if getattr(hf, "_indices", None) is not None:
        hf = hf.flatten_indices()
    columns = {c: _rows_as_arrays(hf.data.column(c), c, src) for c in ("obs", "acts", "rews") if c in hf.column_names}
    terminal = hf["terminal"]
    infos_col = hf["infos"] if "infos" in hf.column_names else None
    episodes = []
    for k in range(len(hf)):
        obs, acts = columns["obs"][k], columns["acts"][k]
        rews = columns["rews"][k].astype(np.float64) if has_rews else np.zeros(len(acts))
        meta = _provenance(metas[k], src)
        if not has_rews:
            meta.extra["rewards_missing"] = True
        infos = json_infos_or_none(list(infos_col[k])) if infos_col is not None else None
        if infos_col is not None and infos is None:
            meta.notes += "; per-step infos dropped (not plain JSON: decoding them would need jsonpickle)"
        if infos is not None and not any(infos):
            infos = None
        episodes.append(
            Episode(
                obs=obs,
                acts=acts,
                rews=rews,
                terminated=bool(terminal[k]),
                truncated=not bool(terminal[k]),
                infos=infos,
                meta=meta,
            )
        )
    data = ImportedData(episodes=episodes, description=info.get("description", ""))
    if info:
        data.env_id = info.get("env_id")
        data.env_spec = info.get("env_spec") or {}
        if "observation_space" in info and "action_space" in info:
            data.observation_space = space_from_json(info["observation_space"])
            data.action_space = space_from_json(info["action_space"])
    return data


def _rows_as_arrays(column: Any, name: str, src: Path) -> list[np.ndarray]:
    """One numpy array per row of an Arrow list column, in the dtype Arrow stored.

    `datasets`' numpy formatter turns float64 into float32 on the way out; reading the Arrow
    buffers directly keeps every value exactly as imitation wrote it.
    """
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_list(arr.type) and not pa.types.is_large_list(arr.type):
        raise StoreError(f"{src}: column {name!r} is {arr.type}, not a list per trajectory")
    outer = np.asarray(arr.offsets)
    outer = outer - outer[0]
    child = arr.flatten()  # the rows' values, concatenated (respects slicing offsets)
    if pa.types.is_list(child.type) or pa.types.is_large_list(child.type):
        widths = np.asarray(child.value_lengths())
        if len(widths) and not np.all(widths == widths[0]):
            raise StoreError(f"{src}: column {name!r} has steps of different widths")
        width = int(widths[0]) if len(widths) else 0
        flat = child.flatten().to_numpy(zero_copy_only=False).reshape(len(child), width)
    else:
        flat = child.to_numpy(zero_copy_only=False)
    return [flat[outer[i] : outer[i + 1]] for i in range(len(outer) - 1)]


def write_imitation(ds: Dataset, dst: Path, *, progress: bool = False) -> None:
    """Save with `imitation.data.serialize.save`, plus the `irlkit.json` provenance sidecar."""
    from imitation.data import serialize
    from imitation.data.types import TrajectoryWithRew

    trajs = []
    metas = []
    for ep in ds.episodes():
        infos = np.array(ep.infos, dtype=object) if ep.infos is not None else None
        trajs.append(
            TrajectoryWithRew(
                obs=np.asarray(ep.obs),
                acts=np.asarray(ep.acts),
                infos=infos,
                terminal=bool(ep.terminated),
                rews=np.asarray(ep.rews, dtype=np.float64),
            )
        )
        metas.append(ep.meta.to_json())
    import datasets

    bars = datasets.utils.logging.is_progress_bar_enabled()
    if not progress:
        datasets.disable_progress_bars()
    try:
        serialize.save(dst, trajs)
    finally:
        if bars:
            datasets.enable_progress_bars()
    info = ds.info
    info["exported_from"] = str(ds.path)
    (dst / SIDECAR).write_text(json.dumps({"dataset": info, "episodes": metas}, indent=1) + "\n", encoding="utf-8")
