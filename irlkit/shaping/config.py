"""Typed config of `feedback=shaping` (light on purpose: no torch, no pygame)."""

from __future__ import annotations

import dataclasses
from typing import Optional

INPUTS = ("keyboard", "scripted")
CREDITS = ("uniform", "gamma")


@dataclasses.dataclass
class RuleConfig:
    """The scripted person: says `good` on steps whose result satisfies the rule.

    The rule thresholds one number x: `x > above` (and/or `x < below`). By default x is
    `obs[obs_index]` of the new observation; MountainCarContinuous's position is obs[0], so
    `above: 0.45` is the seed's "bonus past position 0.45". With `action_index` set, x is
    `act[action_index] * obs[obs_index]` (see there)."""

    obs_index: int = 0
    """Which observation entry the rule thresholds (x = obs[obs_index])."""
    above: Optional[float] = None
    """The rule holds when x > above (None: no lower threshold)."""
    below: Optional[float] = None
    """The rule holds when x < below (None: no upper threshold)."""
    action_index: Optional[int] = None
    """Judge the action too: x = act[action_index] * obs[obs_index] (the action as the env received it,
    Box action spaces only). A threshold on the observation alone cannot say "good move here", which is
    what a person watching mostly says; the product with `above: 0` says "the action agrees in sign
    with that observation". On MountainCarContinuous `action_index: 0, obs_index: 1, above: 0` is
    "good when pushing the way the car moves": force * velocity is the power the engine puts in, so
    the rule rewards pumping energy into the swing (conf/feedback/shaping_pump.yaml)."""
    good: float = 1.0
    """Feedback given when the rule holds."""
    otherwise: Optional[float] = None
    """Feedback given when it does not (e.g. -1); None stays silent, as a person mostly does."""
    every: int = 1
    """Give feedback at most once every this many steps (a person does not press at 30 Hz)."""


@dataclasses.dataclass
class ShapingFeedbackConfig:
    """TAMER-style live reward shaping of an RL agent (`algo=ppo`), docs/shaping.md."""

    kind: str = "shaping"
    weight: float = 1.0
    """The shaped reward is env reward + weight * predicted feedback."""
    credit_steps: int = 10
    """A press is credited to the step shown and the credit_steps - 1 steps before it."""
    credit: str = "uniform"
    """uniform (every step of the window counts fully) or gamma (step j back counts credit_gamma**j)."""
    credit_gamma: float = 0.8
    """credit=gamma: the press counts credit_gamma**j on the step j steps before the one shown."""
    silence: Optional[float] = 0.0
    """Label of watched steps that no press credited (0: "no opinion"); None trains on credited steps only."""
    operator: Optional[str] = None
    """Pseudonym of the person giving feedback; default `rule` for input=scripted, required for keyboard."""
    input: str = "scripted"
    """keyboard (Up good, Down bad, in the training window) or scripted (the `rule` presses the keys)."""
    rule: RuleConfig = dataclasses.field(default_factory=RuleConfig)
    """The scripted person (input=scripted): a threshold rule on the observation (and action)."""
    render: bool = False
    """Show env 0 in a window while training (always on for input=keyboard)."""
    fps: Optional[float] = None
    """Steps per second of env 0 while a window shows (default: the env's render_fps for keyboard,
    as fast as possible for scripted)."""
    model_net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32])
    """Hidden layers of the feedback model H(obs, act) fitted on the credited steps."""
    model_lr: float = 1e-3
    """Adam learning rate of the feedback model."""
    train_every: int = 32
    """Fit the feedback model every this many watched steps (when there is data)."""
    train_batches: int = 8
    """Gradient batches per fit of the feedback model."""
    batch_size: int = 64
    """Labelled steps per gradient batch of the feedback model."""
    buffer_size: int = 20_000
    """Labelled steps kept for the model (the most recent)."""
    record: bool = True
    """Store every watched episode with its feedback in `dataset` (source `correction`)."""
    dataset: Optional[str] = None
    """Dataset the feedback is committed to (default `<env name>_shaping`); created if missing."""
    store_root: Optional[str] = None
    """Store root for that dataset (default: IRLKIT_DEMOS, the checkout's demos/, or the user's)."""
    max_window: list[int] = dataclasses.field(default_factory=lambda: [960, 640])
    """Largest window size (width, height) in pixels; frames are scaled down to fit."""
