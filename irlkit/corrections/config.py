"""Typed configs of the `expert` group: who labels the learner's states in DAgger.

Light on purpose (no torch, no pygame): Hydra's schemas, `--help` and config errors need only these.
`expert=sb3` is imitation's DAgger with an SB3 expert labelling every visited state; `expert=human`
is HG-DAgger (Kelly et al. 2019) with a person (or the scripted stand-in) taking over in a window.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

INPUTS = ("keyboard", "gamepad", "scripted")
QUERIES = ("always", "uncertain")


@dataclasses.dataclass
class SB3ExpertConfig:
    """imitation's SimpleDAggerTrainer asks an SB3 expert at every step (today's `algo=dagger`)."""

    kind: str = "sb3"


@dataclasses.dataclass
class HumanExpertConfig:
    """A person corrects the learner in the recorder's window (HG-DAgger), or is asked when it is unsure.

    Budget (`algo.budget`) and rounds (`algo.round_steps`) are DAgger's: env steps driven in the window.
    """

    kind: str = "human"
    operator: Optional[str] = None
    """Pseudonym of the person correcting (stored with every correction); required."""
    input: str = "keyboard"
    """keyboard or gamepad for a person; `scripted` puts the SB3 expert in the person's seat, through
    the same input interface (tests, benchmarks)."""
    query: str = "always"
    """always: the person watches and takes over at will (HG-DAgger). uncertain: the learner also
    pauses and asks when its ensemble disagrees more than `threshold` (EnsembleDAgger/ThriftyDAgger)."""
    threshold: float = 0.05
    """Ensemble disagreement above which the learner asks: for discrete actions the mean total
    variation distance between each member's action distribution and the ensemble's mean (0..1); for
    continuous ones the members' action spread as a fraction of the action range."""
    novelty_threshold: Optional[float] = 0.3
    """query=uncertain: also ask where the state is farther than this from every labelled state
    (standardized distance per dimension: 1.0 = one standard deviation of the labels away in every
    dimension). Catches an ensemble that agrees, wrongly, where it has no data. null: never.
    0.05 and 0.3 were chosen on CartPole (BENCHMARKS.md, "Human corrections")."""
    ensemble: int = 5
    """Policies in the ensemble that measures uncertainty (member 0 drives; only with query=uncertain)."""
    ensemble_min_batches: int = 200
    """BC batches at least per round for the members that only measure doubt (not the driving policy):
    members trained for a few batches all stay near their uniform start and agree by accident."""
    decline_cooldown_s: float = 0.2
    """After the person declines a question (Space), no new question for this many seconds of steps."""
    learn_from_approvals: bool = True
    """A declined question says the learner's action was fine there: train on it as a label too
    (the person answered, without driving). False learns from driven steps only."""
    dataset: Optional[str] = None
    """Dataset the corrections are stored in (default `<env name>_corrections`); created if missing."""
    store_root: Optional[str] = None
    """Store root for that dataset (default: IRLKIT_DEMOS, the checkout's demos/, or the user's)."""
    resume: bool = False
    """Start from the corrections this operator already stored in `dataset` (a session cut short
    goes on where it stopped)."""
    fps: Optional[float] = None
    """Steps per second in the window; default the env's render_fps."""
    realtime: Optional[bool] = None
    """Hold the fixed rate; default true for a person, false (as fast as possible) for `scripted`."""
    min_batches_per_round: int = 200
    """BC gradient batches at least per round: a few dozen labels need more than a few epochs."""
    hand_back_after: int = 3
    """Scripted person only: hands control back after this many consecutive steps on which the
    learner proposes an action the expert accepts."""
    accept_prob: float = 0.2
    """Scripted person only (discrete actions): it accepts the learner's action when the expert's
    policy gives it at least this probability, and takes over otherwise (query=always)."""
    seed: Optional[int] = None
    """Seeds the per-episode env seeds; default the run's seed."""
    max_window: list[int] = dataclasses.field(default_factory=lambda: [960, 640])
    """Largest window size (width, height) in pixels; frames are scaled down to fit."""
