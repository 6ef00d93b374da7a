"""Where datasets live and how a name becomes a folder (`DemoStore.path_of`, the one place that does it).

The root is, in order: an explicit `root=`, the `IRLKIT_DEMOS` environment variable, the `demos/`
folder of a source checkout, else `~/.local/share/irlkit/demos`. The datasets shipped with irlkit
are always readable by name, even from an installed wheel whose root is elsewhere.

A name is a plain identifier, so it cannot point outside the root; a symbolic link in the root
that leads outside it is refused too (a link could otherwise make `rm` or `compact` touch files
anywhere). A path (anything with a `/`, or starting with `.` or `~`) is taken as given: the
caller chose that folder.
"""

from __future__ import annotations

import os
import re
import secrets
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

    def path_of(self, ref: str, *, shipped: bool = True) -> Path:
        """Folder for a dataset reference: a name inside the root (or, with `shipped`, among the
        datasets shipped with irlkit when the root has none of that name), or a path."""
        if looks_like_path(ref):
            return Path(ref).expanduser().resolve()
        own = self.root / check_name(ref)
        if own.is_symlink() and not own.resolve().is_relative_to(self.root.resolve()):
            raise StoreError(
                f"dataset {ref!r} in {self.root} is a symbolic link to {os.path.realpath(own)}, outside the store "
                "root; irlkit does not follow links out of the root (so that no command reads, compacts or "
                "removes files elsewhere). Move the dataset into the root, point --root / IRLKIT_DEMOS at the "
                "folder that holds it, or pass its path instead of a name (demos=/path/to/dataset)."
            )
        if os.path.lexists(own) or not shipped:
            return own
        bundled = shipped_demos_dir()
        if bundled is not None and (bundled / ref / "dataset.json").exists():
            return bundled / ref
        return own

    def exists(self, ref: str) -> bool:
        return (self.path_of(ref) / "dataset.json").exists()

    def open(self, ref: str, *, verify: bool = False) -> Dataset:
        path = self.path_of(ref)
        if not (path / "dataset.json").exists() and not looks_like_path(ref):
            known = ", ".join(self.names()) or "none"
            missing = "" if self.root.is_dir() else ", a folder that does not exist"
            raise StoreError(
                f"no dataset named {ref!r} in {self.root}{missing} (datasets there and shipped: {known}). "
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
        path = self.path_of(name, shipped=False)
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
        """Remove a dataset of the root (never a shipped one); returns the folder it was in."""
        path = self.path_of(check_name(name), shipped=False)
        if path.is_symlink():
            raise StoreError(
                f"dataset {name!r} in {self.root} is a symbolic link to {os.path.realpath(path)}; removing a dataset "
                f"deletes its files, and irlkit does not delete through links. Remove the link itself (rm {path}) "
                "to take it out of the store, and the dataset it points to where it lies if you mean to."
            )
        if not (path / "dataset.json").exists():
            raise StoreError(f"no dataset named {name!r} in {self.root}; nothing removed")
        # Renamed out of sight first (names() skips dot-names), so a half-finished removal never
        # looks like a damaged dataset.
        trash = path.parent / f".{path.name}.removing-{os.getpid()}-{secrets.token_hex(3)}"
        os.rename(path, trash)
        shutil.rmtree(trash)
        return path
