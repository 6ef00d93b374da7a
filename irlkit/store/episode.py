"""What one recorded episode is: its arrays and the provenance that travels with them."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import re
from typing import Any, Optional

import numpy as np

from irlkit import __version__
from irlkit.errors import StoreError

SOURCES = ("teleop", "policy", "script", "import", "correction")
"""Where an episode came from: a person at the controls, a trained policy, a hand-written script,
another toolkit's dataset, or a person correcting a learner."""

_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def utc_now() -> str:
    """ISO-8601 UTC timestamp with a `Z`, the one time format the store writes."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def pseudonym(name: str, salt: str) -> str:
    """A stable alias for a person that cannot be turned back into their name without the salt.

    Use it when operators sign in with something identifying (an e-mail, a login): the same person
    always maps to the same alias for a given salt, so per-operator statistics still work.
    """
    digest = hashlib.sha256(f"{salt}\x00{name}".encode("utf-8")).hexdigest()
    return f"op-{digest[:12]}"


def check_operator(alias: str) -> str:
    """Refuse aliases that look like free text (spaces, e-mail addresses) rather than pseudonyms."""
    if not _ALIAS.match(alias) or "@" in alias:
        raise StoreError(
            f"operator alias {alias!r} is not a plain pseudonym: use letters, digits, '_', '-' or '.' "
            "(at most 64, no spaces or e-mail addresses). Real names must not enter a dataset; pick an "
            "alias, or derive one with irlkit.store.pseudonym(name, salt)."
        )
    return alias


@dataclasses.dataclass
class EpisodeMeta:
    """Provenance of one episode. Everything here is JSON-safe and stored beside the arrays."""

    source: str = "policy"
    """One of SOURCES."""
    operator: Optional[str] = None
    """Pseudonym of the person who produced the episode (None for policies and scripts)."""
    device: Optional[str] = None
    """Input device: keyboard, gamepad, browser, or the policy/script name."""
    env_id: Optional[str] = None
    seed: Optional[int] = None
    """The seed the env was reset with at the start of this episode."""
    started_utc: Optional[str] = None
    ended_utc: Optional[str] = None
    fps: Optional[float] = None
    discarded: bool = False
    """Kept for the record but skipped by loaders unless asked for."""
    notes: str = ""
    irlkit_version: str = __version__
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Anything else a writer wants to keep (frames dropped, proposed actions' stats, ...)."""
    # Filled in by the store when the episode is committed; writers leave them alone.
    episode_id: str = ""
    length: int = 0
    episode_return: float = 0.0
    terminated: bool = False
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["return"] = data.pop("episode_return")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "EpisodeMeta":
        data = dict(data)
        data["episode_return"] = data.pop("return", 0.0)
        known = {f.name for f in dataclasses.fields(cls)}
        extra = dict(data.get("extra") or {})
        # Keys from a newer minor schema are kept in `extra` rather than dropped.
        for key in list(data):
            if key not in known:
                extra[key] = data.pop(key)
        data["extra"] = extra
        return cls(**data)


@dataclasses.dataclass
class Episode:
    """One episode: T actions, T rewards, T+1 observations (the final one included).

    `terminated` (the task ended: goal reached or failure) and `truncated` (a time limit or the
    operator stopped it) stay apart, because algorithms must bootstrap through truncations only.
    """

    obs: np.ndarray
    acts: np.ndarray
    rews: np.ndarray
    terminated: bool = False
    truncated: bool = False
    infos: Optional[list[dict[str, Any]]] = None
    meta: EpisodeMeta = dataclasses.field(default_factory=EpisodeMeta)

    def __len__(self) -> int:
        return len(self.acts)

    @property
    def episode_return(self) -> float:
        return float(np.sum(self.rews, dtype=np.float64))

    def check_shapes(self, where: str = "episode") -> None:
        """Length rules every episode must obey, with errors naming the field at fault."""
        t = len(self.acts)
        if t == 0:
            raise StoreError(f"{where}: no actions; an episode needs at least one step")
        if len(self.obs) != t + 1:
            raise StoreError(
                f"{where}: field 'obs' has {len(self.obs)} rows but 'acts' has {t}; observations must "
                "have one more row than actions (the final observation included)"
            )
        if np.shape(self.rews) != (t,):
            raise StoreError(
                f"{where}: field 'rews' has shape {np.shape(self.rews)}, expected ({t},) (one reward per action)"
            )
        if self.infos is not None and len(self.infos) != t:
            raise StoreError(f"{where}: field 'infos' has {len(self.infos)} entries, expected {t}")
