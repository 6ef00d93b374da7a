"""The one config boundary of training: Hydra's composed config -> `irlkit.runconfig.RunConfig`.

Hydra composes every group (conf/config.yaml selects `feedback: synthetic` and `expert: sb3` by
default, so `feedback.noise=0.2` works without naming the group); here the groups an algorithm does
not read are dropped, and any of them the user *named* on the command line is refused with the
reason (`algo=gail feedback=human` would otherwise train GAIL and ignore the person). `operator=`
and `query=` are top-level helpers that the `expert=human` and `feedback=shaping` configs read.
"""

from __future__ import annotations

from typing import Any, Sequence

from omegaconf import DictConfig, OmegaConf

from irlkit.algos import ALGORITHMS
from irlkit.cli.overrides import override_key
from irlkit.errors import IrlkitError
from irlkit.runconfig import RunConfig, unused_group_message

HELPERS = {"operator": ("expert", "feedback"), "query": ("expert",)}
"""Top-level keys that exist only to be read by a group's config (`${operator}`, `${query}`)."""


def named(overrides: Sequence[str]) -> set[str]:
    """The top-level keys the command line names (`feedback=human`, `feedback.port=1` -> feedback)."""
    return {override_key(o).split(".")[0].split("/")[0] for o in overrides}


def unused(cfg: DictConfig) -> set[str]:
    """Top-level groups and helpers the chosen algorithm does not read (left out of --help too)."""
    spec = ALGORITHMS.get(cfg.algo.name)
    if spec is None:
        return set()
    out = {g for g in ("feedback", "expert") if spec.human != g}
    if spec.human == "feedback" and cfg.feedback.get("kind") not in spec.human_kinds:
        out.add("feedback")  # ppo: the default `synthetic` is not shaping, so there is none
    out |= {h for h, readers in HELPERS.items() if spec.human not in readers}
    return out


def run_config(cfg: DictConfig, overrides: Sequence[str]) -> RunConfig:
    """The typed config of the run the command line asks for."""
    data: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)  # type: ignore[assignment]
    data.pop("hydra", None)
    name = data.get("algo", {}).get("name")
    if name not in ALGORITHMS:
        raise IrlkitError(f"algo={name} is not an algorithm irlkit has; choose one of {', '.join(ALGORITHMS)}")
    spec = ALGORITHMS[name]
    asked = named(overrides)
    if spec.human and spec.human in asked and data[spec.human].get("kind") not in spec.human_kinds:
        kind = data[spec.human].get("kind")
        raise IrlkitError(
            f"{spec.human}={kind} is not something algo={name} can use; it takes "
            f"{spec.human}={'|'.join(spec.human_kinds)}."
        )
    for key in sorted(unused(cfg)):
        if key in asked:
            if key in HELPERS:
                readers = " or ".join(f"{g}=" for g in HELPERS[key])
                raise IrlkitError(
                    f"{key}= is not used by algo={name}: it is read by the {readers} groups of the "
                    "algorithms that take a person's input (algo=dagger expert=human, algo=ppo "
                    f"feedback=shaping). Drop {key}=, or pick one of those."
                )
            raise IrlkitError(unused_group_message(key, data.get(key, {}).get("kind"), name))
        data.pop(key, None)
    for helper in HELPERS:
        data.pop(helper, None)
    return RunConfig.from_dict(data)
