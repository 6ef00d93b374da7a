"""`feedback=dataset`: train the reward model from labels saved earlier, with no person present.

The saved pairs are fixed, whatever fragments the learner produces now, so the gatherer hands
preference comparisons every saved comparison at its first query (the reward model then has all
the evidence from the start, as in offline preference learning) and answers later queries with
nothing. How the answers reach imitation's dataset without breaking its array shapes is explained
in `irlkit.feedback.gatherer`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from imitation.data.types import TrajectoryWithRewPair

from irlkit.errors import IrlkitError
from irlkit.feedback.config import DatasetFeedbackConfig
from irlkit.feedback.gatherer import AttachableGatherer, _say
from irlkit.store.preferences import PreferenceDataset, open_preferences


class DatasetPreferenceGatherer(AttachableGatherer):
    """Answers preference comparisons from a saved preference dataset.

    :param dataset: the saved pairs and labels.
    :param annotators: only these annotators' labels (None: everyone's). Each non-skip label is
        one comparison, so two annotators who disagree on a pair give a soft target.
    """

    def __init__(
        self,
        dataset: PreferenceDataset,
        *,
        annotators: Optional[Sequence[str]] = None,
        rng: Optional[np.random.Generator] = None,
        logger: Any = None,
    ):
        super().__init__(rng=rng, logger=logger)
        self.dataset = dataset
        self.annotators = list(annotators) if annotators else None
        self.pairs, self.preferences = dataset.to_comparisons(annotators=self.annotators)
        if not self.pairs:
            have = ", ".join(dataset.annotators()) or "nobody"
            who = f" from annotators {self.annotators}" if self.annotators else ""
            raise IrlkitError(
                f"preference dataset {dataset.name!r} has no answered pairs{who} (labels there come from: {have}; "
                f"{len(dataset.pairs())} pairs stored). Label some with `python -m irlkit.feedback label {dataset.name}`, "
                "or change feedback.annotators."
            )
        self.calls = 0

    def __call__(self, fragment_pairs: Sequence[TrajectoryWithRewPair]) -> np.ndarray:
        if self.calls == 0:
            self._push(self.pairs, self.preferences)
            self.logger.record("dataset_comparisons", len(self.pairs))
        self.calls += 1
        return np.full(len(fragment_pairs), np.nan, dtype=np.float32)


def make_dataset_gatherer(cfg: Any, fb: DatasetFeedbackConfig, ctx: Any) -> DatasetPreferenceGatherer:
    """`feedback=dataset`: answers from a saved preference dataset."""
    if fb.dataset in (None, "", "???"):
        raise IrlkitError(
            "feedback=dataset needs the preference dataset to read: add feedback.dataset=NAME "
            "(`python -m irlkit.feedback stats NAME` shows what one holds)"
        )
    dataset = open_preferences(fb.dataset, root=fb.root)
    dataset.check_spaces(ctx.observation_space, ctx.action_space, env_id=ctx.env_cfg.id)
    annotators = [fb.annotators] if isinstance(fb.annotators, str) else fb.annotators
    gatherer = DatasetPreferenceGatherer(dataset, annotators=annotators, rng=ctx.rng, logger=ctx.logger)
    who = ", ".join(annotators) if annotators else "all annotators"
    _say(f"training on {len(gatherer.pairs)} saved comparisons from {dataset.name!r} ({who})")
    return gatherer
