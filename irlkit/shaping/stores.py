"""Shaping feedback in the demos store: what a watched episode holds, and the presses read back.

Every watched episode of a shaping session is stored like a recorded one (source `correction`),
with one info dict per step:

    {"actor": "learner",          # the agent drove (so HG-DAgger never reads these as labels)
     "feedback": +1 | -1 | null,  # the press given at this step (summed if several)
     "label": float | null}       # the credited label the feedback model was fitted on

and `meta.extra = {"kind": "shaping", "events": [{"step", "value"}...], ...}`. An episode a killed
session left half-written (recovered from the journal) has no labels and no `events`: its presses
are read from the logged steps' infos. `feedback_events` and `feedback_samples` read them back.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

KIND = "shaping"
SOURCE = "correction"


def _shaping_view(dataset: Any, operator: Optional[Iterable[str] | str]) -> Any:
    ops = [operator] if isinstance(operator, str) else (list(operator) if operator is not None else None)
    return dataset.select(source=[SOURCE], operator=ops, where=lambda m: m.extra.get("kind") == KIND)


def feedback_events(dataset: Any, *, operator: Optional[Iterable[str] | str] = None) -> list[dict[str, Any]]:
    """Every stored press: {episode_id, step, value, operator, device}, in commit order."""
    out = []
    view = _shaping_view(dataset, operator)
    for k, m in enumerate(view.metas):
        events = m.extra.get("events", [])
        if m.extra.get("recovered"):  # cut short by a kill: the presses are in the logged steps' infos
            infos = view.episode(k).infos or []
            events = [{"step": t, "value": i["feedback"]} for t, i in enumerate(infos) if i.get("feedback") is not None]
        for e in events:
            out.append(
                {
                    "episode_id": m.episode_id,
                    "step": int(e["step"]),
                    "value": float(e["value"]),
                    "operator": m.operator,
                    "device": m.device,
                }
            )
    return out


def feedback_samples(
    dataset: Any, *, operator: Optional[Iterable[str] | str] = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The labelled steps of stored shaping episodes (obs, acts, labels): to refit a feedback model offline."""
    obs, acts, labels = [], [], []
    for ep in _shaping_view(dataset, operator).episodes():
        for t, info in enumerate(ep.infos or []):
            if info.get("label") is not None:
                obs.append(ep.obs[t])
                acts.append(ep.acts[t])
                labels.append(float(info["label"]))
    if not obs:
        return (
            np.zeros((0, *dataset.observation_space.shape), dtype=np.float32),
            np.zeros((0, *dataset.action_space.shape)),
            np.zeros((0,)),
        )
    return np.stack(obs), np.stack(acts), np.asarray(labels)
