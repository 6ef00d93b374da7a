"""What the labelling page asks and answers: open pairs, their clips, labels and progress.

One `LabelSession` sits between whoever offers pairs (a training run's gatherer, or the `label`
command over a saved queue) and the HTTP server. It is thread-safe: the server answers each
request in its own thread, the clip worker reports finished clips from another, and the training
loop waits for labels in a third. Every label is committed to the preference dataset *before*
the page is told it was taken, so an acknowledged label survives any crash after it.

Labels can also arrive from another process on the same dataset (a `python -m irlkit.feedback
label` session beside a training run, or the other way round). Before a pair is handed to a page,
and about twice a second while the producer waits, the session re-reads the dataset's labels and
counts those for its open pairs as given, so nobody is asked a pair that already has its answer.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable, Optional

import numpy as np

from irlkit.errors import StoreError
from irlkit.feedback.clips import ClipJob, ClipPair
from irlkit.store.episode import check_operator, utc_now
from irlkit.store.preferences import (
    LABELS,
    LabelConflict,
    LabelRecord,
    PreferenceDataset,
)

ABSORB_EVERY_S = 0.5
"""How often a waiting producer re-reads labels committed by other processes (a directory listing)."""


class RequestError(Exception):
    """A request the session refuses; `status` is the HTTP status the server answers with."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclasses.dataclass
class _OpenPair:
    pair_id: str
    round: int
    order: int
    clip: Optional[ClipPair] = None
    error: Optional[str] = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    """annotator -> label, in this session and round."""


class LabelSession:
    """Pairs waiting for labels, and the labels as they come.

    :param dataset: where pairs live and labels are committed.
    :param submit_clip: hands a `ClipJob` to the clip worker (which calls `clip_ready`).
    :param each_annotator: False for a training run (one label per pair is enough, whoever gives
        it); True for a saved queue (every annotator labels every pair, for agreement statistics).
    :param annotator: a fixed alias (the page then does not ask for one), or None.
    :param on_label: called with each committed `LabelRecord` (terminal progress).
    """

    def __init__(
        self,
        dataset: PreferenceDataset,
        submit_clip: Callable[[ClipJob], None],
        *,
        each_annotator: bool,
        annotator: Optional[str] = None,
        on_label: Optional[Callable[[LabelRecord], None]] = None,
    ):
        self.dataset = dataset
        self.each_annotator = each_annotator
        self.annotator = check_operator(annotator) if annotator else None
        self._submit_clip = submit_clip
        self._on_label = on_label
        self._cond = threading.Condition()
        self._open: dict[str, _OpenPair] = {}
        self._served: dict[tuple[str, str], tuple[str, float]] = {}
        self._order = 0
        self.state = "waiting"
        self.message = "Waiting for the first pairs: the agent is collecting experience."
        self.batch: Optional[int] = None
        self.batches: Optional[int] = None
        self._asked = 0
        self._labelled_in_batch = 0
        self._total_labels = 0
        self.clip_latencies: list[float] = []
        """Seconds from a pair being offered to its clips being ready (for the benchmark)."""
        self._disk: Optional[PreferenceDataset] = None
        """This session's own reader of the dataset, for labels other processes commit: the
        producer reads and refreshes `dataset` from its own thread, and refreshing one object from
        two threads is not safe."""
        self._absorbed_at = 0.0
        self.labels_from_elsewhere = 0
        """Labels for open pairs that another process committed (counted as given)."""

    # ---- what the producer (gatherer or label command) calls --------------------------------
    def offer(
        self,
        pair_ids: list[str],
        *,
        round: int = 0,
        batch: Optional[int] = None,
        batches: Optional[int] = None,
        message: str = "",
    ) -> None:
        """Open pairs for labelling and start rendering their clips (in the background)."""
        jobs = []
        with self._cond:
            if batch is not None:
                self.batch, self.batches = batch, batches
                self._asked, self._labelled_in_batch = 0, 0
            existing = self.dataset.latest_labels()
            for pid in pair_ids:
                self._order += 1
                op = _OpenPair(pid, round, self._order)
                # Labels given before (a resumed queue) count: nobody is asked twice in a round.
                op.labels = {a: r.label for (p, a), r in existing.items() if p == pid and r.round == round}
                self._open[pid] = op
                self._asked += 1
                left, right = self.dataset.fragments(pid)
                jobs.append(ClipJob(pid, np.asarray(left.obs), np.asarray(right.obs)))
            self.state = "labelling" if self._open else self.state
            self.message = message
            self._cond.notify_all()
        for job in jobs:
            self._submit_clip(job)

    def clip_ready(self, clip: ClipPair) -> None:
        with self._cond:
            self.clip_latencies.append(time.monotonic() - clip.queued_at)
            if clip.pair_id in self._open:
                self._open[clip.pair_id].clip = clip
            self._cond.notify_all()

    def clip_failed(self, pair_id: str, err: BaseException) -> None:
        with self._cond:
            if pair_id in self._open:
                self._open[pair_id].error = f"{type(err).__name__}: {err}"
            self._cond.notify_all()

    def wait_labels(self, pair_ids: list[str], *, timeout: Optional[float] = None) -> dict[str, str]:
        """Block until each pair has a label from someone (here or in another process); returns
        pair id -> label."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if time.monotonic() - self._absorbed_at >= ABSORB_EVERY_S:
                    self._absorb_committed_labels()
                missing = [p for p in pair_ids if p in self._open and not self._open[p].labels]
                if not missing:
                    out = {}
                    for p in pair_ids:
                        op = self._open.pop(p, None)
                        if op is not None:
                            out[p] = next(iter(op.labels.values()))
                    if not self._open:
                        self.state = "waiting"
                    return out
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"{len(missing)} pairs still unlabelled")
                self._cond.wait(timeout=min(left, ABSORB_EVERY_S) if left is not None else ABSORB_EVERY_S)

    def _absorb_committed_labels(self) -> None:
        """Count labels that other processes committed for open pairs (in the pair's round) as
        given. Called with `_cond` held."""
        self._absorbed_at = time.monotonic()
        if not self._open:
            return
        try:
            if self._disk is None:
                self._disk = PreferenceDataset.open(self.dataset.path)
            else:
                self._disk.refresh()
            latest = self._disk.latest_labels()
        except (StoreError, OSError):
            return  # a batch another writer damaged: the producer's own reads report it; keep serving
        changed = False
        for (pair_id, annotator), record in latest.items():
            op = self._open.get(pair_id)
            if op is None or record.round != op.round or annotator in op.labels:
                continue
            if not self.each_annotator and op.labels:
                continue
            op.labels[annotator] = record.label
            self._labelled_in_batch += 1
            self.labels_from_elsewhere += 1
            changed = True
        if changed:
            self._cond.notify_all()

    def set_waiting(self, message: str) -> None:
        with self._cond:
            self.state, self.message = "waiting", message
            self._cond.notify_all()

    def finish(self, message: str) -> None:
        with self._cond:
            self.state, self.message = "done", message
            self._open.clear()
            self._cond.notify_all()

    # ---- what the server calls ----------------------------------------------------------------
    def check_annotator(self, annotator: Optional[str]) -> str:
        if self.annotator is not None:
            if annotator not in (None, "", self.annotator):
                raise RequestError(
                    403, f"this session labels as {self.annotator!r}; annotator {annotator!r} is not accepted"
                )
            return self.annotator
        if not annotator:
            raise RequestError(400, "give your alias (annotator) first")
        try:
            return check_operator(annotator)
        except StoreError as err:
            raise RequestError(400, str(err)) from None

    def progress(self, annotator: Optional[str] = None) -> dict[str, Any]:
        with self._cond:
            return self._progress(annotator)

    def _progress(self, annotator: Optional[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "state": self.state,
            "message": self.message,
            "batch": self.batch,
            "batches": self.batches,
            "asked": self._asked,
            "labelled": self._labelled_in_batch,
            "total_labels": self._total_labels,
            "annotator": self.annotator,
        }
        if self.each_annotator and annotator:
            mine = sum(1 for op in self._open.values() if annotator in op.labels)
            out["asked"] = len(self._open)
            out["labelled"] = mine
        return out

    def _available(self, annotator: str) -> Optional[_OpenPair]:
        for op in sorted(self._open.values(), key=lambda o: o.order):
            if annotator in op.labels or (not self.each_annotator and op.labels):
                continue
            return op
        return None

    def next_pair(self, annotator: str, wait_s: float, known: Optional[str] = None) -> dict[str, Any]:
        """The next pair this annotator should label, waiting up to `wait_s` for one to be ready.

        A long poll: it also returns as soon as the state to show differs from `known` (what the
        page shows now), so the page says "waiting" the moment a round is fully labelled."""
        deadline = time.monotonic() + max(0.0, min(wait_s, 60.0))
        with self._cond:
            while True:
                op = self._available(annotator)
                if op is not None and (op.clip is not None or op.error is not None):
                    self._absorb_committed_labels()  # answered elsewhere meanwhile? then not this one
                    op = self._available(annotator)
                if op is not None and (op.clip is not None or op.error is not None):
                    break
                if self.state == "done":
                    return {"state": "done", "progress": self._progress(annotator)}
                if op is not None:
                    state = "rendering"
                elif self.each_annotator and self.state == "labelling":
                    state = "finished"  # this annotator has labelled every open pair
                else:
                    state = "waiting"
                if deadline - time.monotonic() <= 0 or (known is not None and known != state):
                    return {"state": state, "progress": self._progress(annotator)}
                self._cond.wait(timeout=deadline - time.monotonic())
            key = (op.pair_id, annotator)
            if key not in self._served:
                self._served[key] = (utc_now(), time.monotonic())
            pair: dict[str, Any] = {"pair_id": op.pair_id, "round": op.round}
            if op.clip is not None:
                pair.update(
                    left=f"/clips/{op.clip.left}",
                    right=f"/clips/{op.clip.right}",
                    frames=op.clip.frames,
                    fps=op.clip.fps,
                )
            else:
                pair["error"] = (
                    f"the clips of this pair could not be rendered ({op.error}); answer Can't tell to move on"
                )
            return {"state": "pair", "pair": pair, "progress": self._progress(annotator)}

    def submit(self, pair_id: str, label: str, annotator: str) -> dict[str, Any]:
        """Commit a label; refuses unknown pairs, bad labels and a second label for the same pair."""
        if label not in LABELS:
            raise RequestError(400, f"label {label!r} is not one of {', '.join(LABELS)}")
        with self._cond:
            op = self._open.get(pair_id)
            if op is None:
                known = self.dataset.has_pair(pair_id) if isinstance(pair_id, str) else False
                if known:
                    raise RequestError(
                        409,
                        f"pair {pair_id} is not open for labelling (it is already labelled, or belongs to another batch)",
                    )
                raise RequestError(404, f"no pair {pair_id!r} in this session")
            if annotator in op.labels:
                raise RequestError(409, f"{annotator!r} already labelled pair {pair_id}; a label is never overwritten")
            if not self.each_annotator and op.labels:
                raise RequestError(409, f"pair {pair_id} was already labelled by {next(iter(op.labels))!r}")
            shown = self._served.get((pair_id, annotator))
            try:
                record = self.dataset.add_label(
                    pair_id,
                    label,
                    annotator,
                    round=op.round,
                    shown_utc=shown[0] if shown else None,
                    response_s=(time.monotonic() - shown[1]) if shown else None,
                )
            except LabelConflict as err:
                raise RequestError(409, str(err)) from None
            except StoreError as err:
                raise RequestError(400, str(err)) from None
            except OSError as err:  # disk full, permissions: say so; nothing was recorded
                raise RequestError(
                    500, f"the label could not be saved ({err}); it was not recorded, try again"
                ) from None
            op.labels[annotator] = label
            self._labelled_in_batch += 1
            self._total_labels += 1
            self._cond.notify_all()
            progress = self._progress(annotator)
        if self._on_label is not None:
            self._on_label(record)
        return {"ok": True, "pair_id": pair_id, "label": label, "progress": progress}

    def remaining(self) -> int:
        with self._cond:
            return len(self._open)
