"""Who labelled what, and how much annotators agree: the checks behind "whose feedback counts".

- Per annotator: labels given, left/right/equal/can't-tell counts, median time to answer, and how
  often their left/right answers agree with the env's own reward (when the pairs carry it): a
  cheap check of attention and of a systematic bias, in the spirit of Uni-RLHF's expert
  validation sets.
- Between two annotators: raw agreement and Cohen's kappa on the pairs both answered (a "can't
  tell" is no opinion and is left out). Kappa = (p_o - p_e) / (1 - p_e), where p_o is the observed
  agreement and p_e the agreement expected by chance from each annotator's own label frequencies
  (Cohen 1960). It is undefined (NaN) when chance agreement is already 1 (both always give the
  same single answer).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Optional, Sequence

import numpy as np

from irlkit.store.preferences import LABELS, PreferenceDataset

OPINIONS = ("left", "right", "equal")
"""Labels that state a preference; 'skip' (can't tell) does not."""


def cohen_kappa(a: Sequence[str], b: Sequence[str], categories: Sequence[str] = OPINIONS) -> float:
    """Cohen's kappa of two annotators' labels on the same items (NaN if undefined)."""
    if len(a) != len(b):
        raise ValueError(f"two label lists of different lengths ({len(a)} and {len(b)})")
    n = len(a)
    if n == 0:
        return float("nan")
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    p_e = sum((sum(x == c for x in a) / n) * (sum(y == c for y in b) / n) for c in categories)
    if math.isclose(p_e, 1.0):
        return float("nan")
    return (p_o - p_e) / (1.0 - p_e)


def _env_answer(rec: Any) -> Optional[str]:
    if not rec.rewards_known:
        return None
    if math.isclose(rec.return_left, rec.return_right, rel_tol=1e-9, abs_tol=1e-9):
        return "equal"
    return "left" if rec.return_left > rec.return_right else "right"


def annotator_stats(ds: PreferenceDataset) -> list[dict[str, Any]]:
    """One row per annotator (their final answer per pair)."""
    latest = ds.latest_labels()
    rows = []
    for who in ds.annotators():
        recs = [r for (_, a), r in latest.items() if a == who]
        counts = {label: sum(r.label == label for r in recs) for label in LABELS}
        times = [r.response_s for r in recs if r.response_s is not None]
        agree, checked = 0, 0
        for r in recs:
            if r.label not in ("left", "right"):
                continue
            truth = _env_answer(ds.pair(r.pair_id))
            if truth in ("left", "right"):
                checked += 1
                agree += truth == r.label
        rows.append(
            {
                "annotator": who,
                "labels": len(recs),
                **counts,
                "skip_rate": counts["skip"] / len(recs) if recs else float("nan"),
                "median_response_s": float(np.median(times)) if times else float("nan"),
                "env_reward_agreement": agree / checked if checked else float("nan"),
                "env_reward_checked": checked,
            }
        )
    return rows


def agreement(ds: PreferenceDataset, annotators: Optional[Sequence[str]] = None) -> list[dict[str, Any]]:
    """One row per pair of annotators: shared answered pairs, raw agreement and Cohen's kappa."""
    latest = ds.latest_labels(annotators=annotators)
    by_annotator: dict[str, dict[str, str]] = {}
    for (pair_id, who), r in latest.items():
        if r.label in OPINIONS:
            by_annotator.setdefault(who, {})[pair_id] = r.label
    rows = []
    for a, b in itertools.combinations(sorted(by_annotator), 2):
        shared = sorted(set(by_annotator[a]) & set(by_annotator[b]))
        la = [by_annotator[a][p] for p in shared]
        lb = [by_annotator[b][p] for p in shared]
        rows.append(
            {
                "a": a,
                "b": b,
                "shared_pairs": len(shared),
                "agreement": sum(x == y for x, y in zip(la, lb, strict=True)) / len(shared) if shared else float("nan"),
                "kappa": cohen_kappa(la, lb),
            }
        )
    return rows


def format_stats(ds: PreferenceDataset) -> str:
    """The tables `python -m irlkit.feedback stats NAME` prints."""
    s = ds.summary()
    lines = [
        f"preference dataset {s['name']} ({s['env_id']}): {s['pairs']} pairs, {s['labels']} labels on "
        f"{s['labelled_pairs']} pairs, {len(s['annotators'])} annotators",
        "",
        f"{'annotator':<20} {'labels':>6} {'left':>5} {'right':>5} {'equal':>5} {'skip':>5} {'median s':>8} {'agrees w/ env':>13}",
    ]
    fmt = lambda x, spec: "n/a" if isinstance(x, float) and math.isnan(x) else format(x, spec)  # noqa: E731
    for r in annotator_stats(ds):
        env = (
            f"{fmt(r['env_reward_agreement'], '.0%')} of {r['env_reward_checked']}"
            if r["env_reward_checked"]
            else "n/a"
        )
        lines.append(
            f"{r['annotator']:<20} {r['labels']:>6} {r['left']:>5} {r['right']:>5} {r['equal']:>5} {r['skip']:>5} "
            f"{fmt(r['median_response_s'], '.1f'):>8} {env:>13}"
        )
    pairs = agreement(ds)
    if pairs:
        lines += ["", f"{'annotators':<36} {'shared':>6} {'agree':>6} {'kappa':>6}"]
        for r in pairs:
            lines.append(
                f"{r['a'] + ' / ' + r['b']:<36} {r['shared_pairs']:>6} {fmt(r['agreement'], '.0%'):>6} {fmt(r['kappa'], '.2f'):>6}"
            )
        lines.append("(kappa: Cohen's, on pairs both answered; 'can't tell' left out; n/a when undefined)")
    return "\n".join(lines)
