"""Minari datasets (https://minari.farama.org), read and written with the `minari` package itself.

Minari is an optional extra (`pip install 'irlkit[minari]'`, i.e. `minari[hdf5]`): nothing in the
store needs it, and minari 0.5.4 requires numpy>=2 (0.5.3 is the last for numpy<2).

A Minari dataset folder is `<dataset id>/data/{metadata.json, main_data.hdf5}`; either that folder
or its `data/` subfolder can be imported. Export writes the same layout at DST (which can then be
moved into `~/.minari/datasets/` to be found by id). Minari's `create_dataset_from_buffers` only
writes under its datasets root (`MINARI_DATASETS_PATH`), so the exporter points that root at a
staging folder beside DST for the duration of the call and renames the result into place.
Image observations are written with `jpeg_encoding=False` so arrays round-trip exactly.

Per-step infos are not carried across (Minari wants the same info keys at every step of every
episode, which the store does not promise); episode seeds are.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from irlkit.errors import StoreError
from irlkit.store.dataset import Dataset
from irlkit.store.episode import Episode, EpisodeMeta
from irlkit.store.interop import ImportedData

INSTALL_HINT = "pip install 'irlkit[minari]' (that is, 'minari[hdf5]>=0.5.3'; 0.5.4 needs numpy>=2)"


def _minari():
    try:
        import minari
    except ImportError as err:
        raise StoreError(
            f"the minari format needs the minari package ({err}); install it with {INSTALL_HINT}"
        ) from None
    return minari


def _data_dir(src: Path) -> Path:
    if (src / "metadata.json").exists():
        return src
    if (src / "data" / "metadata.json").exists():
        return src / "data"
    raise StoreError(
        f"{src} is not a Minari dataset folder: it has neither metadata.json nor data/metadata.json "
        "(look under ~/.minari/datasets/<dataset id>)"
    )


def read_minari(src: Path) -> ImportedData:
    """Read every episode of a Minari dataset folder through `minari.MinariDataset`."""
    minari = _minari()
    data_dir = _data_dir(src)
    try:
        mds = minari.MinariDataset(data_dir)
    except (ValueError, KeyError, OSError, AssertionError) as err:
        raise StoreError(f"{src}: minari cannot read this dataset ({err})") from None
    env_spec = mds.env_spec
    seeds = {
        int(m["id"]) if "id" in m else i: m.get("seed")
        for i, m in enumerate(mds.storage.get_episode_metadata(mds.episode_indices))
    }
    episodes = []
    for ep in mds.iterate_episodes():
        if not isinstance(ep.observations, np.ndarray) or not isinstance(ep.actions, np.ndarray):
            raise StoreError(
                f"{src}, episode {ep.id}: observations or actions are nested (Dict/Tuple spaces); the store "
                "holds flat spaces only"
            )
        terms, truncs = np.asarray(ep.terminations, dtype=bool), np.asarray(ep.truncations, dtype=bool)
        meta = EpisodeMeta(
            source="import",
            notes=f"imported from {src} (Minari episode {ep.id})",
            seed=seeds.get(int(ep.id)),
            extra={"minari_episode_id": int(ep.id)},
        )
        episodes.append(
            Episode(
                obs=np.asarray(ep.observations),
                acts=np.asarray(ep.actions),
                rews=np.asarray(ep.rewards, dtype=np.float64),
                terminated=bool(terms[-1]) if len(terms) else False,
                truncated=bool(truncs[-1]) if len(truncs) else False,
                meta=meta,
            )
        )
    desc = mds.storage.metadata.get("description") or ""
    return ImportedData(
        episodes=episodes,
        env_id=env_spec.id if env_spec is not None else None,
        observation_space=mds.observation_space,
        action_space=mds.action_space,
        env_spec=_spec_json(env_spec),
        description=desc,
    )


def _spec_json(spec) -> dict:
    if spec is None:
        return {}
    import json

    try:
        return json.loads(spec.to_json())
    except (ValueError, TypeError, AttributeError):
        return {"id": spec.id}


@contextlib.contextmanager
def _minari_root(path: Path) -> Iterator[None]:
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def write_minari(ds: Dataset, dst: Path) -> None:
    """Write with `minari.create_dataset_from_buffers` (HDF5 backend, no JPEG), then move to `dst`."""
    minari = _minari()
    from minari.data_collector import EpisodeBuffer

    buffers = []
    for k, ep in enumerate(ds.episodes()):
        t = len(ep)
        terms = np.zeros(t, dtype=bool)
        truncs = np.zeros(t, dtype=bool)
        terms[-1], truncs[-1] = ep.terminated, ep.truncated
        buffers.append(
            EpisodeBuffer(
                id=k,
                seed=ep.meta.seed,
                observations=np.asarray(ep.obs),
                actions=np.asarray(ep.acts),
                rewards=np.asarray(ep.rews),
                terminations=terms,
                truncations=truncs,
            )
        )
    dataset_id = re.sub(r"[^A-Za-z0-9_]+", "_", ds.name) + "-v0"
    staging = dst.parent / f".{dst.name}.minari-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    spec = None
    if ds.env_spec:
        from gymnasium.envs.registration import EnvSpec

        try:
            spec = EnvSpec.from_json(__import__("json").dumps(ds.env_spec))
        except (ValueError, TypeError, KeyError, AttributeError):
            spec = None
    if spec is not None:
        # Minari makes the env from its spec to check it; an env it cannot make is left out.
        import gymnasium as gym
        import seals  # noqa: F401  (registers the seals/* ids)

        try:
            gym.make(spec).close()
        except (gym.error.Error, ImportError, AttributeError, TypeError, ValueError):
            spec = None
    try:
        with _minari_root(staging), warnings.catch_warnings():
            # Minari nags about author, e-mail and permalink: an export does not know them.
            warnings.simplefilter("ignore", UserWarning)
            minari.create_dataset_from_buffers(
                dataset_id=dataset_id,
                buffer=buffers,
                env=spec,
                observation_space=ds.observation_space,
                action_space=ds.action_space,
                algorithm_name="irlkit export",
                description=ds.description or f"Exported from the irlkit dataset {ds.name}.",
                data_format="hdf5",
                jpeg_encoding=False,
            )
        os.rename(staging / dataset_id, dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
