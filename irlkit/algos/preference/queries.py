"""Which pairs of fragments to ask about (B-Pref: Lee et al. 2021, section 4.2).

Every label costs a person's time, so the pairs asked should be the ones the reward model is least
sure about. B-Pref compares three ways, all kept here:

- `uniform`: pairs drawn uniformly from the fragments collected so far (Christiano et al. 2017's
  baseline; imitation's `RandomFragmenter`).
- `disagreement`: draw `candidates` times as many pairs, and ask those on which the members of a
  reward ensemble disagree most: the standard deviation, across members, of the predicted
  probability that the first fragment is better.
- `entropy`: the same candidates, ranked by the ensemble's mean entropy of that probability (pairs
  the model finds closest to a coin flip).

The selected pairs come back most informative first, so the labelling page shows a person the
pair that teaches the model most before the others (the human gatherer keeps this order).

imitation's `ActiveSelectionFragmenter` ranks by variance only, one pair at a time in Python; this
one scores all candidates with one batched forward pass per ensemble member.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch as th
from imitation.algorithms import preference_comparisons as pc
from imitation.data.types import TrajectoryWithRew, TrajectoryWithRewPair

from irlkit.errors import IrlkitError

QUERIES = ("uniform", "disagreement", "entropy")


def pair_scores(member_returns1: np.ndarray, member_returns2: np.ndarray, query: str) -> np.ndarray:
    """Informativeness of each pair from each ensemble member's fragment returns.

    :param member_returns1: predicted returns of the first fragments, shape (pairs, members).
    :param member_returns2: the same for the second fragments.
    :param query: `disagreement` (std of P[first better] across members) or `entropy` (mean over
        members of the binary entropy of P[first better]).
    """
    diff = np.clip(member_returns1 - member_returns2, -50.0, 50.0)
    prob = 1.0 / (1.0 + np.exp(-diff))  # Bradley-Terry, as imitation's PreferenceModel
    if query == "disagreement":
        return prob.std(axis=1)
    if query == "entropy":
        eps = 1e-12
        ent = -(prob * np.log(prob + eps) + (1 - prob) * np.log(1 - prob + eps))
        return ent.mean(axis=1)
    raise ValueError(f"no score for query {query!r}")


class InformativeFragmenter(pc.Fragmenter):
    """A fragmenter that returns the `num_pairs` most informative of `candidates * num_pairs`
    uniformly drawn pairs, most informative first (uniform: the drawn pairs as they come).

    :param query: uniform, disagreement or entropy.
    :param member_returns: `fragments -> (len(fragments), members)` array of each ensemble
        member's predicted return of each fragment (None: the model is not trained yet, and the
        first query is uniform whatever `query` says).
    :param candidates: B-Pref's `large_batch`: how many candidate pairs per pair asked.
    """

    def __init__(
        self,
        query: str,
        *,
        rng: np.random.Generator,
        candidates: float = 10.0,
        member_returns: Optional[Any] = None,
        logger: Any = None,
    ):
        super().__init__(custom_logger=logger)
        if query not in QUERIES:
            raise IrlkitError(
                f"algo.query={query!r} is not a query method; choose one of {', '.join(QUERIES)} (B-Pref)"
            )
        if query != "uniform" and candidates < 1:
            raise IrlkitError(
                f"algo.query_candidates={candidates}: must be >= 1 (candidate pairs drawn per pair asked)"
            )
        self.query = query
        self.candidates = candidates
        self.member_returns = member_returns
        self.base = pc.RandomFragmenter(rng=rng, warning_threshold=0, custom_logger=self.logger)
        self.last_scores: Optional[np.ndarray] = None
        """Scores of the pairs returned by the last call, in the same order (None: uniform)."""

    def __call__(
        self, trajectories: Sequence[TrajectoryWithRew], fragment_length: int, num_pairs: int
    ) -> Sequence[TrajectoryWithRewPair]:
        if num_pairs <= 0:
            return []
        informed = self.query != "uniform" and self.member_returns is not None
        n_draw = max(num_pairs, int(round(self.candidates * num_pairs))) if informed else num_pairs
        pairs = list(self.base(trajectories, fragment_length, n_draw))
        if not informed:
            self.last_scores = None
            return pairs
        assert self.member_returns is not None  # informed
        firsts = self.member_returns([a for a, _ in pairs])
        seconds = self.member_returns([b for _, b in pairs])
        scores = pair_scores(np.asarray(firsts), np.asarray(seconds), self.query)
        order = np.argsort(-scores, kind="stable")[:num_pairs]
        self.last_scores = scores[order]
        self.logger.record("query/score_mean_asked", float(scores[order].mean()))
        self.logger.record("query/score_mean_candidates", float(scores.mean()))
        return [pairs[i] for i in order]


def fragment_arrays(fragments: Sequence[TrajectoryWithRew]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observations (n, L, ...), actions (n, L, ...) and next observations of equal-length fragments."""
    obs = np.stack([np.asarray(f.obs) for f in fragments])
    acts = np.stack([np.asarray(f.acts) for f in fragments])
    return obs[:, :-1], acts, obs[:, 1:]


@th.no_grad()
def member_fragment_returns(members: Sequence[Any], fragments: Sequence[TrajectoryWithRew]) -> np.ndarray:
    """Each reward net's predicted return of each fragment, shape (fragments, members)."""
    if not fragments:
        return np.zeros((0, len(members)))
    obs, acts, next_obs = fragment_arrays(fragments)
    n, length = acts.shape[:2]
    flat = lambda x: x.reshape(n * length, *x.shape[2:])  # noqa: E731
    dones = np.zeros(n * length, dtype=bool)
    out = []
    for net in members:
        was_training = net.training
        net.eval()
        r = net(*net.preprocess(flat(obs), flat(acts), flat(next_obs), dones))
        net.train(was_training)
        out.append(r.reshape(n, length).sum(dim=1).cpu().numpy())
    return np.stack(out, axis=1)
