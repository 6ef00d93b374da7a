"""Where datasets live and how a name becomes a folder.

The root is, in order: an explicit `root=`, the `IRLKIT_DEMOS` environment variable, the `demos/`
folder of a source checkout, else `~/.local/share/irlkit/demos`. The datasets shipped with irlkit
are always readable by name, even from an installed wheel whose root is elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Optional

from gymnasium import spaces

from irlkit.errors import StoreError
from irlkit.store.dataset import Dataset

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def shipped_demos_dir() -> Optional[Path]:
    """The demos shipped with irlkit: the checkout's `demos/`, or the copy inside the wheel."""
    for candidate in (_PACKAGE_DIR.parent / "demos", _PACKAGE_DIR / "demos_data"):
        if candidate.is_dir():
            return candidate
    return None


def default_root() -> Path:
    env = os.environ.get("IRLKIT_DEMOS")
    if env:
        return Path(env).expanduser()
    checkout = _PACKAGE_DIR.parent / "demos"
    if checkout.is_dir() and (_PACKAGE_DIR.parent / "pyproject.toml").exists():
        return checkout
    data_home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return data_home / "irlkit" / "demos"


def check_name(name: str) -> str:
    """Dataset names are plain identifiers, so a name can never point outside the root."""
    if not _NAME.match(name) or ".." in name:
        raise StoreError(
            f"dataset name {name!r} is not a plain name: use letters, digits, '_', '-' and '.' (no '/', "
            "no '..', at most 128 characters). To use a folder elsewhere, pass its path instead "
            "(for example demos=/data/my_demos)."
        )
    return name


def looks_like_path(ref: str) -> bool:
    return os.sep in ref or ref.startswith(("~", ".")) or (os.altsep is not None and os.altsep in ref)


class DemoStore:
    """A folder of datasets. The one entry point the recorder, labeller and training use."""

    def __init__(self, root: Optional[os.PathLike | str] = None):
        self.root = Path(root).expanduser() if root is not None else default_root()

    def __repr__(self) -> str:
        return f"DemoStore({str(self.root)!r})"

    def path_of(self, ref: str) -> Path:
        """Folder for a dataset reference: a name inside the root (or shipped), or a path."""
        if looks_like_path(ref):
            return Path(ref).expanduser().resolve()
        check_name(ref)
        own = self.root / ref
        if own.exists():
            return own
        shipped = shipped_demos_dir()
        if shipped is not None and (shipped / ref / "dataset.json").exists():
            return shipped / ref
        return own

    def exists(self, ref: str) -> bool:
        return (self.path_of(ref) / "dataset.json").exists()

    def open(self, ref: str, *, verify: bool = False) -> Dataset:
        path = self.path_of(ref)
        if not (path / "dataset.json").exists() and not looks_like_path(ref):
            known = ", ".join(self.names()) or "none"
            raise StoreError(
                f"no dataset named {ref!r} in {self.root} (datasets there and shipped: {known}). "
                "Check the name with `python -m irlkit.demos ls`, set IRLKIT_DEMOS or --root to the "
                "right folder, or make one with `python -m irlkit.demos generate`."
            )
        return Dataset.open(path, verify=verify)

    def create(
        self,
        name: str,
        *,
        env_id: str,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        env_spec: Optional[dict[str, Any]] = None,
        description: str = "",
        exist_ok: bool = False,
    ) -> Dataset:
        path = Path(name).expanduser() if looks_like_path(name) else self.root / check_name(name)
        return Dataset.create(
            path,
            env_id=env_id,
            observation_space=observation_space,
            action_space=action_space,
            env_spec=env_spec,
            description=description,
            exist_ok=exist_ok,
        )

    def names(self) -> list[str]:
        """Dataset names in the root, then shipped ones not shadowed by a dataset of the same name."""
        found: dict[str, Path] = {}
        for folder in (self.root, shipped_demos_dir()):
            if folder is None or not folder.is_dir():
                continue
            for p in sorted(folder.iterdir()):
                # `.NAME.creating-*` / `.NAME.removing-*` are another process's work in progress
                if _NAME.match(p.name) and (p / "dataset.json").exists() and p.name not in found:
                    found[p.name] = p
        return list(found)

    def remove(self, name: str) -> Path:
        path = self.root / check_name(name)
        if not (path / "dataset.json").exists():
            raise StoreError(f"no dataset named {name!r} in {self.root}; nothing removed")
        # Rename first so a half-finished removal never looks like a damaged dataset.
        trash = path.parent / f".{path.name}.removing-{os.getpid()}"
        os.rename(path, trash)
        shutil.rmtree(trash)
        return path
