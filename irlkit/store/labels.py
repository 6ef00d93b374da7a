"""Labels: one small JSON file per answer, `labels/<pair>.<annotator>.<round>.json`, written once.

A label is written aside, fsync'd, then hard-linked to its final name (`atomic.write_once`): the
link fails if the name exists, so two processes (or two browser tabs) labelling the same pair as
the same annotator cannot both win, and an acknowledged label is on disk before the labeller is
told so. No label file is ever rewritten.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Optional

from irlkit import __version__
from irlkit.errors import StoreError
from irlkit.store.jsonio import read_json_object

LABELS = ("left", "right", "equal", "skip")
"""What a person can answer: the left clip is better, the right one, both equally good, or
"can't tell" (skip: kept as a record, never trained on)."""

LABEL_PREFERENCE = {"left": 1.0, "right": 0.0, "equal": 0.5}
"""imitation's convention: the probability that the first (left) fragment is preferred."""


@dataclasses.dataclass(frozen=True)
class LabelRecord:
    """One person's answer for one pair."""

    pair_id: str
    label: str
    """One of LABELS."""
    annotator: str
    """A pseudonym (checked by `irlkit.store.check_operator`)."""
    labelled_utc: str
    shown_utc: Optional[str] = None
    """When the page first showed the pair to this annotator (for response times)."""
    response_s: Optional[float] = None
    round: int = 0
    """Asked again (round 1, 2, ...) only when every pair of a first batch was skipped."""
    source: str = "browser"
    irlkit_version: str = __version__

    @property
    def preference(self) -> Optional[float]:
        """1.0 left, 0.0 right, 0.5 equal, None for a skip."""
        return LABEL_PREFERENCE.get(self.label)


class LabelConflict(StoreError):
    """This annotator already labelled this pair (in this round)."""


def read_label(entry: os.DirEntry, where: str) -> LabelRecord:
    """One label file (refused if it is a link, or not a label), for a preference dataset's listing."""
    if entry.is_symlink():
        raise StoreError(
            f"{where} is a symbolic link; the store writes no links, so it was put there by hand. "
            f"Remove it ({entry.path})."
        )
    data = read_json_object(Path(entry.path), where)
    known = {f.name for f in dataclasses.fields(LabelRecord)}
    try:
        return LabelRecord(**{k: v for k, v in data.items() if k in known})
    except TypeError as err:
        raise StoreError(
            f"{where} cannot be read ({err}); the file was edited or damaged. Restore it, or remove it "
            f"({entry.path}) to drop that label."
        ) from None
