"""`feedback=human`: a person in the browser answers preference comparisons' queries.

How a gatherer is consumed (imitation's `PreferenceGatherer` seam), and why this one answers in a
roundabout way: at each query, irlkit's `PreferenceTrainer` calls `gatherer(fragments)` (the pairs
most informative first, as `algo.query` ranks them; the page asks them in that order) and pushes
the returned array, which must have exactly one float32 per pair, into its `PreferenceDataset`
together with those fragments.
A person may answer "can't tell", which is no preference at all (0.5 would claim the two are
equally good and train the reward model towards that), and a restarted run must train on the
fragments that were labelled before, not on the fresh ones. So `attach()` installs a
`SkippablePreferenceDataset` that drops pairs whose preference is NaN; the gatherer pushes the
pairs it has answers for itself and returns NaN for the trainer's own push of the fresh fragments.
Array shapes never change, and skipped pairs never reach the loss.

The reward model cannot train on an empty dataset, so when every pair of the first
round was skipped the same pairs are asked again (round 1) with a note on the page.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import sys
import webbrowser
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from imitation.algorithms import preference_comparisons as pc
from imitation.data.types import TrajectoryWithRewPair

from irlkit.algos.preference import SkippablePreferenceDataset, label_schedule
from irlkit.errors import IrlkitError
from irlkit.feedback.clips import ClipWorker
from irlkit.feedback.config import HumanFeedbackConfig
from irlkit.feedback.server import LabelServer
from irlkit.feedback.session import LabelSession
from irlkit.store.episode import check_operator
from irlkit.store.preferences import (
    LABEL_PREFERENCE,
    Fragment,
    LabelRecord,
    PreferenceDataset,
    create_preferences,
)


class AttachableGatherer(pc.PreferenceGatherer):
    """A gatherer that pushes its own answers into the comparisons' dataset (see module doc)."""

    def __init__(self, *, rng: Optional[np.random.Generator] = None, logger: Any = None):
        super().__init__(rng=rng, custom_logger=logger)
        self.target: Optional[SkippablePreferenceDataset] = None

    def attach(self, comparisons: Any) -> None:
        """Install a dataset that drops unanswered pairs into `comparisons` (anything with a
        `dataset` attribute: irlkit's `PreferenceTrainer`, or imitation's `PreferenceComparisons`),
        which calls this."""
        self.target = SkippablePreferenceDataset(max_size=comparisons.dataset.max_size)
        comparisons.dataset = self.target

    def _push(self, pairs: list[TrajectoryWithRewPair], prefs: np.ndarray) -> None:
        if self.target is None:
            raise IrlkitError(
                f"{type(self).__name__} must be attached to the PreferenceComparisons it answers: call "
                "gatherer.attach(comparisons) after building it (irlkit's PreferenceTrainer does this)"
            )
        self.target.push(pairs, prefs)


def to_fragment(traj: Any) -> Fragment:
    rews = getattr(traj, "rews", None)
    return Fragment(
        obs=np.asarray(traj.obs),
        acts=np.asarray(traj.acts),
        rews=np.asarray(rews if rews is not None else np.zeros(len(traj.acts)), dtype=np.float64),
    )


def to_trajectory(frag: Fragment) -> Any:
    from imitation.data.types import TrajectoryWithRew

    return TrajectoryWithRew(
        obs=np.asarray(frag.obs),
        acts=np.asarray(frag.acts),
        infos=None,
        terminal=False,
        rews=np.asarray(frag.rews, dtype=np.float32),
    )


def run_key(env_id: str, seed: int, algo_cfg: Any) -> str:
    """Names a run by what determines its queries (env, seed, algorithm config): a restarted run
    with the same key is asked the same rounds and resumes from their stored labels."""
    cfg = dataclasses.asdict(algo_cfg) if dataclasses.is_dataclass(algo_cfg) else dict(algo_cfg)
    text = json.dumps({"env": env_id, "seed": seed, "algo": cfg}, sort_keys=True, default=str)
    return "run-" + hashlib.sha256(text.encode()).hexdigest()[:12]


class HumanPreferenceGatherer(AttachableGatherer):
    """Queues each round's pairs on the labelling page and waits for a person's answers.

    :param session: the page's session (owned by the server).
    :param dataset: the preference dataset pairs and labels are committed to.
    :param run: the run key (`run_key`), for resuming.
    :param rounds: how many times the run will ask (`irlkit.algos.preference.label_schedule`).
    :param resume: reuse pairs and labels already stored for this run key.
    """

    def __init__(
        self,
        *,
        session: LabelSession,
        dataset: PreferenceDataset,
        run: str,
        rounds: int,
        resume: bool = True,
        url: str = "",
        rng: Optional[np.random.Generator] = None,
        logger: Any = None,
    ):
        super().__init__(rng=rng, logger=logger)
        self.session, self.dataset, self.run, self.rounds, self.resume, self.url = (
            session,
            dataset,
            run,
            rounds,
            resume,
            url,
        )
        self.calls = 0
        self.answered = 0
        self.skipped = 0

    def __call__(self, fragment_pairs: Sequence[TrajectoryWithRewPair]) -> np.ndarray:
        try:
            return self._gather(fragment_pairs)
        except KeyboardInterrupt:
            raise IrlkitError(
                f"stopped while waiting for labels. Every label given so far is saved in {self.dataset.path}; run the "
                "same command again to resume (labelled pairs are not asked again), or train on them with "
                f"feedback=dataset feedback.dataset={self.dataset.name}"
            ) from None

    def _gather(self, fragment_pairs: Sequence[TrajectoryWithRewPair]) -> np.ndarray:
        k = self.calls
        self.calls += 1
        self.dataset.refresh()
        stored = self.dataset.pairs(run=self.run, iteration=k) if self.resume else []
        if stored:
            ids = [p.pair_id for p in stored]
        else:
            ids = self.dataset.add_pairs(
                [(to_fragment(a), to_fragment(b)) for a, b in fragment_pairs], run=self.run, iteration=k
            )
        answers = self._stored_answers(ids)
        if stored:
            _say(f"resuming round {k + 1}/{self.rounds}: {len(ids)} pairs stored, {len(answers)} already labelled")
        round_no = max((r.round for r in answers.values()), default=0)
        todo = [p for p in ids if p not in answers]
        if todo:
            _say(f"round {k + 1}/{self.rounds}: {len(todo)} pairs to label at {self.url}")
            self.session.offer(todo, batch=k + 1, batches=self.rounds, message="")
            for pid, label in self.session.wait_labels(todo).items():
                answers[pid] = _Answer(label, 0)
        while ids and all(answers[p].label == "skip" for p in ids) and (self.target is None or len(self.target) == 0):
            round_no += 1
            _say(f"every pair of round {k + 1} was skipped; the reward model needs at least one answer: asking again")
            self.session.offer(
                ids,
                round=round_no,
                batch=k + 1,
                batches=self.rounds,
                message="Every pair so far was skipped; the reward model needs at least one answer.",
            )
            for pid, label in self.session.wait_labels(ids).items():
                answers[pid] = _Answer(label, round_no)
        prefs = np.array([LABEL_PREFERENCE.get(answers[p].label, np.nan) for p in ids], dtype=np.float32)
        pairs = [tuple(to_trajectory(f) for f in self.dataset.fragments(p)) for p in ids]
        self._push(pairs, prefs)
        n_ok = int(np.sum(~np.isnan(prefs)))
        self.answered += n_ok
        self.skipped += len(ids) - n_ok
        self.logger.record("human_answered", n_ok)
        self.logger.record("human_skipped", len(ids) - n_ok)
        if self.calls >= self.rounds:
            self.session.finish(
                f"Done: all {self.answered} answers are in ({self.skipped} skipped). Training is finishing; "
                "you can close this page."
            )
            _say(f"all {self.rounds} rounds labelled ({self.answered} answers, {self.skipped} skipped)")
        else:
            self.session.set_waiting(
                f"Round {k + 1} of {self.rounds} is labelled. The reward model and the agent are "
                "training; the next pairs appear here by themselves."
            )
        return np.full(len(fragment_pairs), np.nan, dtype=np.float32)

    def _stored_answers(self, ids: list[str]) -> dict[str, "_Answer"]:
        """The answer each pair already has (any annotator; the latest round, then the earliest label)."""
        if not self.resume:
            return {}
        best: dict[str, LabelRecord] = {}
        for r in self.dataset.labels():
            if r.pair_id in ids and (r.pair_id not in best or r.round > best[r.pair_id].round):
                best[r.pair_id] = r
        return {p: _Answer(r.label, r.round) for p, r in best.items()}


@dataclasses.dataclass(frozen=True)
class _Answer:
    label: str
    round: int


def _say(text: str) -> None:
    print(f"irlkit.feedback: {text}", file=sys.stderr, flush=True)


def _print_label(session: LabelSession) -> Any:
    """Terminal progress, one line per label (the page shows the same numbers)."""

    def on_label(rec: LabelRecord) -> None:
        p = session.progress(rec.annotator if session.each_annotator else None)
        where = f"round {p['batch']}/{p['batches']}: " if p.get("batch") else ""
        _say(f"{where}{p['labelled']}/{p['asked']} labelled ({rec.annotator}: {rec.label})")

    return on_label


def start_labelling(
    dataset: PreferenceDataset,
    env_cfg: Any,
    clip_dir: Path,
    *,
    each_annotator: bool,
    annotator: Optional[str],
    host: str,
    port: int,
    clip_fps: float = 25.0,
    clip_format: str = "mp4",
    clip_stride: int = 2,
    quiet: bool = False,
) -> tuple[LabelSession, LabelServer, ClipWorker]:
    """A session, its clip worker and its server (already serving); shut down at exit."""
    holder: dict[str, LabelSession] = {}
    worker = ClipWorker(
        env_cfg,
        clip_dir,
        fps=clip_fps,
        fmt=clip_format,
        stride=clip_stride,
        on_ready=lambda c: holder["s"].clip_ready(c),
        on_error=lambda p, e: holder["s"].clip_failed(p, e),
    )
    on_label = None if quiet else (lambda rec: _print_label(holder["s"])(rec))
    session = LabelSession(
        dataset, worker.submit, each_annotator=each_annotator, annotator=annotator, on_label=on_label
    )
    holder["s"] = session
    server = LabelServer(session, clip_dir, host=host, port=port).start()
    atexit.register(worker.close)
    atexit.register(server.stop)
    return session, server, worker


def make_human_gatherer(cfg: Any, fb: HumanFeedbackConfig, ctx: Any) -> HumanPreferenceGatherer:
    """`feedback=human`: builds the dataset, server and page, prints the URL."""
    if fb.annotator:
        check_operator(fb.annotator)
    name = fb.dataset or f"{ctx.env_cfg.name}_preferences"
    dataset = create_preferences(
        name,
        env_id=ctx.env_cfg.id,
        observation_space=ctx.observation_space,
        action_space=ctx.action_space,
        env_config=dataclasses.asdict(ctx.env_cfg),
        root=fb.root,
        description="Pairs of fragments from preference-comparisons runs and the labels people gave them.",
    )
    session, server, _ = start_labelling(
        dataset,
        ctx.env_cfg,
        Path(ctx.run_dir) / "clips",
        each_annotator=False,
        annotator=fb.annotator,
        host=fb.host,
        port=fb.port,
        clip_fps=fb.clip_fps,
        clip_format=fb.clip_format,
        clip_stride=fb.clip_stride,
    )
    key = run_key(ctx.env_cfg.id, ctx.seed, cfg)
    others = {p.run for p in dataset.pairs()} - {key}
    if others and fb.resume:
        _say(
            f"note: {dataset.name!r} holds pairs of {len(others)} other run(s) (another seed or algorithm config); "
            "this run starts its own rounds. Train on all saved labels with feedback=dataset."
        )
    _say(f"labelling page: {server.url}  (pairs and labels go to {dataset.path}; run key {key})")
    print(f"Open the labelling page: {server.url}", flush=True)
    if fb.open_browser:
        webbrowser.open(server.url)
    return HumanPreferenceGatherer(
        session=session,
        dataset=dataset,
        run=key,
        rounds=len(label_schedule(cfg)),
        resume=fb.resume,
        url=server.url,
        rng=ctx.rng,
        logger=ctx.logger,
    )
