"""The typed config of one training run, and its dict form (the run folder's `config.yaml`).

`RunConfig` is what the library takes: `irlkit.train.run_training(RunConfig(...), run_dir)`.
The command line builds it from Hydra's config in one place (`irlkit.cli.runconfig`); a saved run
is read back from its `config.yaml` with `RunConfig.from_dict`, so a run made from Python can be
re-scored or resumed exactly like one made by `python -m irlkit`. Defaults live in the dataclasses
only; the YAML files in `conf/` choose a schema and set nothing but what an env or preset changes.

Three groups are polymorphic, told apart by one field: `algo` by `name` (`irlkit.algos.ALGORITHMS`),
`feedback` and `expert` by `kind` (`FEEDBACK_KINDS`, `EXPERT_KINDS` below). Only an algorithm that
reads a group gets one: `algo=gail feedback=human` is refused, not silently ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Union

from irlkit.algos import ALGORITHMS, AlgorithmSpec
from irlkit.algos.configs import FeedbackConfig
from irlkit.corrections.config import HumanExpertConfig, SB3ExpertConfig
from irlkit.envs import EnvConfig
from irlkit.errors import IrlkitError
from irlkit.evaluate.config import EvalConfig
from irlkit.feedback.config import DatasetFeedbackConfig, HumanFeedbackConfig
from irlkit.shaping.config import ShapingFeedbackConfig
from irlkit.typed import from_dict, to_dict

FEEDBACK_KINDS: dict[str, type] = {
    "synthetic": FeedbackConfig,
    "human": HumanFeedbackConfig,
    "dataset": DatasetFeedbackConfig,
    "shaping": ShapingFeedbackConfig,
}
"""`feedback=<kind>`: who answers an algorithm's queries (preference labels, shaping presses)."""

EXPERT_KINDS: dict[str, type] = {"sb3": SB3ExpertConfig, "human": HumanExpertConfig}
"""`expert=<kind>`: who labels DAgger's states."""

_KINDS = {"feedback": FEEDBACK_KINDS, "expert": EXPERT_KINDS}


@dataclasses.dataclass
class SelectConfig:
    """Which episodes of the dataset to learn from (the bias question: whose feedback counts)."""

    operator: Optional[str] = None
    """Only this operator's episodes (comma-separated for several)."""
    source: Optional[str] = None
    """Only this source: teleop, policy, script, import, correction (comma-separated)."""
    min_return: Optional[float] = None
    """Only episodes whose return is at least this."""
    max_episodes: Optional[int] = None
    """Use at most this many episodes (the first ones in commit order)."""


@dataclasses.dataclass
class RunConfig:
    """Everything one training run needs; `run_training` writes it to the run's `config.yaml`."""

    algo: Any = dataclasses.field(default_factory=lambda: ALGORITHMS["bc"].config())
    """The algorithm's config (`BCConfig`, `AdversarialConfig`, ...); its `name` says which."""
    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    """The env to learn and score in."""
    demos: Optional[str] = None
    """Dataset name in the demos store, or a path to a dataset folder (default: the env's `demos`)."""
    demos_root: Optional[str] = None
    """Store root (default: IRLKIT_DEMOS, else the shipped demos/)."""
    seed: int = 0
    """Seeds Python, numpy, torch and the envs: same seed, same machine, same numbers."""
    select: SelectConfig = dataclasses.field(default_factory=SelectConfig)
    """Which episodes of the dataset to learn from."""
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    """How the learned policy is scored."""
    feedback: Optional[Any] = None
    """Who answers the algorithm's queries (a `FEEDBACK_KINDS` config); None: the algorithm's default."""
    expert: Optional[Any] = None
    """Who labels DAgger's states (an `EXPERT_KINDS` config); None: the algorithm's default."""
    torch_threads: int = 1
    """Torch CPU threads; 1 is fastest for the small MLPs used here."""
    progress: bool = True
    """Show a progress bar while training."""
    checkpoint_s: float = 60.0
    """Seconds between resumable checkpoints, written between rounds (0: after every round, -1: never);
    `python -m irlkit resume=<run folder>` continues a killed run from the last one."""

    def __post_init__(self) -> None:
        self.check()

    @property
    def spec(self) -> AlgorithmSpec:
        return _spec(getattr(self.algo, "name", None))

    @property
    def demos_ref(self) -> str:
        """The dataset to learn from: `demos`, else the env's default dataset."""
        return self.demos or self.env.demos

    def human_input(self) -> Optional[Any]:
        """The config of the one group this algorithm reads (`feedback` or `expert`), defaults applied;
        None when it reads none (or, for ppo, when no shaping was asked for)."""
        spec = self.spec
        if spec.human is None:
            return None
        given = getattr(self, spec.human)
        if given is not None:
            return given
        return _KINDS[spec.human][spec.default_human]() if spec.default_human else None

    def check(self) -> None:
        """Refuse combinations that would silently do something else than asked."""
        spec = self.spec
        budget = getattr(self.algo, "budget", None)
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            raise IrlkitError(
                f"algo.budget={budget}: give a positive whole number of the algorithm's budget units "
                f"(algo={self.algo.name}: see `python -m irlkit algo={self.algo.name} --help`)"
            )
        self.eval.check()
        if not isinstance(self.algo, spec.config):
            raise IrlkitError(
                f"algo={self.algo.name}: its config must be a {spec.config.__name__}, got {type(self.algo).__name__}"
            )
        for group in ("feedback", "expert"):
            value = getattr(self, group)
            if value is None:
                continue
            kind = getattr(value, "kind", None)
            if spec.human != group:
                raise IrlkitError(unused_group_message(group, kind, self.algo.name))
            if kind not in spec.human_kinds:
                raise IrlkitError(
                    f"{group}={kind} is not something algo={self.algo.name} can use; it takes "
                    f"{group}={'|'.join(spec.human_kinds)}."
                )

    # ---- the dict form (config.yaml) ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = to_dict(self)
        for group in ("feedback", "expert"):
            if data[group] is None:
                del data[group]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "") -> "RunConfig":
        """The inverse of `to_dict`; unknown keys, wrong types and unknown names are refused by name."""
        if not isinstance(data, Mapping):
            raise IrlkitError(f"{where or 'the run config'}: expected a mapping of options, got {type(data).__name__}")
        data = dict(data)
        algo = data.pop("algo", None)
        if not isinstance(algo, Mapping):
            algo = {"name": "bc"} if algo is None else algo
            if not isinstance(algo, Mapping):
                raise IrlkitError(f"`algo` must be a mapping with a `name`, got {algo!r}")
        spec = _spec(algo.get("name"))
        parts: dict[str, Any] = {"algo": from_dict(spec.config, algo, where="algo")}
        for group in ("feedback", "expert"):
            value = data.pop(group, None)
            if value is not None:
                parts[group] = _group_from_dict(group, value)
        return from_dict(cls, {**data, **parts}, where=where, prebuilt=set(parts))


def _spec(name: Any) -> AlgorithmSpec:
    if name not in ALGORITHMS:
        from difflib import get_close_matches

        close = get_close_matches(str(name), list(ALGORITHMS), n=1)
        hint = f" (did you mean `algo={close[0]}`?)" if close else ""
        raise IrlkitError(f"algo={name} is not an algorithm irlkit has{hint}; choose one of {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[name]


def _group_from_dict(group: str, value: Union[Mapping[str, Any], Any]) -> Any:
    kinds = _KINDS[group]
    if dataclasses.is_dataclass(value):
        return value
    if not isinstance(value, Mapping) or "kind" not in value:
        raise IrlkitError(f"`{group}` must be a mapping with a `kind` ({', '.join(kinds)}), got {value!r}")
    kind = value["kind"]
    if kind not in kinds:
        raise IrlkitError(f"{group}={kind} is not known; choose one of {', '.join(kinds)}.")
    return from_dict(kinds[kind], value, where=group)


def users_of(group: str) -> list[str]:
    """`algo=<name> (group=kind|kind)` for every algorithm that reads `group`, for messages."""
    return [f"algo={n} ({group}={'|'.join(s.human_kinds)})" for n, s in ALGORITHMS.items() if s.human == group]


def unused_group_message(group: str, kind: Optional[str], algo: str) -> str:
    what = f"{group}={kind}" if kind else group
    return (
        f"{what} is not used by algo={algo}: only {' and '.join(users_of(group))} read the `{group}` group. "
        f"Drop the {group} option(s), or pick one of those algorithms."
    )
