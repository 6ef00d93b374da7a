"""Whether an env's episodes all last the same number of steps, for envs without a preset.

imitation's adversarial and preference algorithms refuse episodes of different lengths unless told
`allow_variable_horizon=True` (then episode length itself can leak into the learned reward: a
discriminator rewards surviving, or ending early; Kostrikov et al. 2019, "Discriminator-Actor-Critic",
section 4.2). seals' envs are fixed-horizon by design; a gymnasium env may end an episode whenever it
terminates. A run that assumed a fixed horizon and met a short episode would crash mid-training, and
one that allows a variable horizon on an env whose episodes happen to be equal loses nothing, so
`horizon: auto` is fixed only where that is known (seals' ids) and variable otherwise, with the
evidence found (the demos, a few random episodes) in the notice.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

from irlkit.envs.config import HORIZONS, EnvConfig
from irlkit.errors import IrlkitError

PROBE_EPISODES = 3
"""Random-policy episodes played to look for an early end when the demos show none."""

FIXED_HORIZON_PREFIXES = ("seals/",)
"""Ids whose episodes all last their time limit (seals' fixed-horizon variants of the classic envs)."""


@dataclasses.dataclass(frozen=True)
class Horizon:
    variable: bool
    why: str = ""
    """What the decision rests on, for the notice (empty when the env config says so)."""
    shown: bool = True
    """False when variable is only assumed (no episode was seen ending early)."""

    def notice(self, env_id: str, algo: str) -> str:
        """The note a run prints when it allows variable horizons."""
        verb = "ends" if self.shown else "may end"
        why = f" ({self.why})" if self.why else ""
        return (
            f"irlkit: note: {env_id} {verb} episodes at different lengths{why}; {algo} runs with imitation's "
            "allow_variable_horizon=True, so episode length itself can leak into the learned reward."
        )


def detect_horizon(cfg: EnvConfig, demo_metas: Optional[Sequence[Any]] = None, *, seed: int = 0) -> Horizon:
    """Fixed or variable horizon for `cfg`: as configured, else (`auto`) detected.

    :param demo_metas: the demos' `EpisodeMeta`s (their `length` and `terminated`), evidence first.
    :param seed: seeds the random probe.
    """
    if cfg.horizon not in HORIZONS:
        raise IrlkitError(f"env.horizon={cfg.horizon!r}: choose one of {', '.join(HORIZONS)}")
    if cfg.horizon != "auto":
        return Horizon(cfg.horizon == "variable")
    base = cfg.id.split(":")[-1]
    if base.startswith(FIXED_HORIZON_PREFIXES):
        return Horizon(False, "seals envs have fixed horizons")
    metas = list(demo_metas or [])
    ended = [m for m in metas if m.terminated]
    if ended:
        return Horizon(True, f"{len(ended)} of the {len(metas)} demo episodes ended early")
    lengths = {int(m.length) for m in metas}
    if len(lengths) > 1:
        return Horizon(True, f"the demo episodes last between {min(lengths)} and {max(lengths)} steps")
    early = _probe(cfg, seed)
    if early is not None:
        return Horizon(True, f"a random policy's episode ended after {early[0]} of {early[1]} steps")
    return Horizon(
        True,
        f"horizon: auto, and none ended early in the demos or in {PROBE_EPISODES} random episodes, which cannot rule "
        "it out; pass env.horizon=fixed if every episode lasts its time limit",
        shown=False,
    )


def _probe(cfg: EnvConfig, seed: int) -> Optional[tuple[int, int]]:
    """(steps, time limit) of the first random episode that terminated, else None."""
    from irlkit.envs.make import make_env

    env = make_env(cfg)
    try:
        env.action_space.seed(seed)
        limit = getattr(env.spec, "max_episode_steps", None)
        for k in range(PROBE_EPISODES):
            env.reset(seed=seed + 7919 * (k + 1))
            steps, terminated, truncated = 0, False, False
            while not (terminated or truncated):
                _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                steps += 1
            if terminated:
                return steps, int(limit) if limit else steps
        return None
    finally:
        env.close()
