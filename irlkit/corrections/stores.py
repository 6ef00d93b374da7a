"""Corrections in the demos store: what each step records, and the labels read back out of it.

A correction session is stored like any recorded episode (source `correction`), with one JSON dict
per step in `Episode.infos`:

    {"actor": "person" | "learner",   # who drove this step (the stored action is theirs)
     "proposed": <learner's action>,  # what the learner wanted to do, whoever drove
     "given": <person's action> | null,
     "asked": bool,                   # the learner asked for help at this step (query=uncertain)
     "approved": bool,                # asked, the person let it go on (Space): its action is fine
     "uncertainty": float | null,     # its ensemble disagreement, when measured
     "novelty": float | null,         # distance to the nearest labelled state, when measured
     "round": int}                    # HG-DAgger round the step belongs to

Only the steps with `actor == "person"` are labels: the learner's own steps say nothing about what
the person wants, except where it asked and the person let it go on (`approved`: the person saw
the learner's action and judged it fine, which is an answer too). `labelled_transitions` returns
the labels (and, with `approvals=True`, the approved steps), so any dataset of corrections (from
this operator, another, or a filtered copy) can seed a new session or train BC directly.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

PERSON = "person"
LEARNER = "learner"
SOURCE = "correction"


def jsonable_action(action: Any) -> Any:
    """An action as plain JSON (an int for discrete spaces, a list of floats for boxes)."""
    arr = np.asarray(action)
    if arr.ndim == 0:
        return arr.item()
    return arr.tolist()


def step_info(
    *,
    actor: str,
    proposed: Any,
    given: Any,
    asked: bool,
    uncertainty: Optional[float],
    round_no: int,
    approved: bool = False,
    novelty: Optional[float] = None,
) -> dict[str, Any]:
    """The per-step record stored in `Episode.infos` (see the module docstring)."""
    return {
        "actor": actor,
        "proposed": jsonable_action(proposed),
        "given": None if given is None else jsonable_action(given),
        "asked": bool(asked),
        "approved": bool(approved),
        "uncertainty": None if uncertainty is None else float(uncertainty),
        "novelty": None if novelty is None else float(novelty),
        "round": int(round_no),
    }


def is_label(info: dict[str, Any], approvals: bool = False) -> bool:
    """A step the person drove, or (with `approvals`) one whose action the person approved when asked."""
    return info.get("actor") == PERSON or (approvals and bool(info.get("approved")))


def labelled_transitions(
    dataset: Any, *, operator: Optional[Iterable[str] | str] = None, approvals: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The person-driven steps of a dataset's correction episodes: (obs, acts, next_obs, dones).

    Episodes of other sources and steps the learner drove are skipped (with `approvals`, the steps
    the person approved when asked are kept: their action is the learner's, judged fine). `operator`
    keeps one operator's corrections (or several)."""
    ops = [operator] if isinstance(operator, str) else (list(operator) if operator is not None else None)
    view = dataset.select(source=[SOURCE], operator=ops)
    obs, acts, nxt, dones = [], [], [], []
    for ep in view.episodes():
        if not ep.infos:
            continue
        mask = np.array([is_label(i, approvals) for i in ep.infos], dtype=bool)
        if not mask.any():
            continue
        idx = np.flatnonzero(mask)
        obs.append(ep.obs[idx])
        acts.append(ep.acts[idx])
        nxt.append(ep.obs[idx + 1])
        last = len(ep) - 1
        dones.append((idx == last) & bool(ep.terminated or ep.truncated))
    if not obs:
        o_shape, a_shape = dataset.observation_space.shape, dataset.action_space.shape
        empty_obs = np.zeros((0, *o_shape), dtype=np.float32)
        return empty_obs, np.zeros((0, *a_shape)), empty_obs.copy(), np.zeros((0,), dtype=bool)
    return np.concatenate(obs), np.concatenate(acts), np.concatenate(nxt), np.concatenate(dones)


def recover_unfinished(dataset: Any) -> list[str]:
    """Store the episodes a killed session left half-written (the journal), saying so; returns their ids."""
    import sys

    ids = dataset.recover()
    if ids:
        wanted = set(ids)
        eps = list(dataset.select(include_discarded=True, where=lambda m: m.episode_id in wanted).episodes())
        labels = sum(sum(1 for i in ep.infos or [] if i.get("actor") == PERSON) for ep in eps)
        steps = sum(len(ep) for ep in eps)
        print(
            f"irlkit: recovered {len(ids)} unfinished episode(s) ({steps} steps, {labels} labels) that a stopped "
            f"session left in {dataset.name!r}",
            file=sys.stderr,
        )
    return ids


def correction_stats(dataset: Any, *, operator: Optional[str] = None) -> dict[str, Any]:
    """Steps, labels (person-driven steps), asked steps and their shares over correction episodes."""
    view = dataset.select(source=[SOURCE], operator=[operator] if operator else None)
    steps = labels = asked = approved = 0
    for ep in view.episodes():
        infos = ep.infos or []
        steps += len(ep)
        labels += sum(1 for i in infos if i.get("actor") == PERSON)
        asked += sum(1 for i in infos if i.get("asked"))
        approved += sum(1 for i in infos if i.get("approved"))
    return {
        "episodes": len(view),
        "steps": steps,
        "labels": labels,
        "asked": asked,
        "approved": approved,
        "label_share": labels / steps if steps else 0.0,
        "asked_share": asked / steps if steps else 0.0,
    }
