"""Every typed schema of the Hydra configs, registered in the ConfigStore once per process.

The YAML files in `conf/` begin with `defaults: [<schema>, _self_]`, so a misspelt key or a wrong
type fails at composition. Schemas are stored in the group they type under `<name>_schema`, the
pattern Hydra documents; those names are internal: `HydraCommand` refuses them as a choice
(`algo=adversarial_schema`) and keeps them out of `--help`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from omegaconf import MISSING

from irlkit.envs import EnvConfig
from irlkit.runconfig import EXPERT_KINDS, FEEDBACK_KINDS, RunConfig

SCHEMA_SUFFIX = "_schema"


@dataclasses.dataclass
class RunSchema(RunConfig):
    """The top-level config of a training run (conf/config.yaml): `RunConfig` itself, with the
    polymorphic groups typed by their group's schema and the two top-level helpers the `expert=human`
    and `feedback=shaping` configs read. `cli.runconfig` turns it into a `RunConfig`."""

    algo: Any = MISSING
    feedback: Any = MISSING
    expert: Any = MISSING
    operator: Optional[str] = None
    """Pseudonym of the person giving corrections (expert=human) or shaping feedback (feedback=shaping)."""
    query: str = "always"
    """expert=human: `always` (the person takes over at will) or `uncertain` (the learner also asks
    when unsure); the same as expert.query, which it sets."""


@dataclasses.dataclass
class EvaluateSchema:
    """`python -m irlkit.evaluate` (conf/evaluate.yaml)."""

    run: str = MISSING
    """A run folder written by `python -m irlkit`."""
    episodes: Optional[int] = None
    """Evaluation episodes (default: what the run used)."""
    video: bool = False
    """Also write a video of the first episodes into the run folder."""
    deterministic: Optional[bool] = None
    """Most likely action (default: what the run used)."""


@dataclasses.dataclass
class TransferSchema:
    """`python -m irlkit.transfer` (conf/transfer.yaml): `irlkit.transfer.TransferConfig` plus the run."""

    run: str = MISSING
    """A run folder written by `python -m irlkit` with an algorithm that learns a reward."""
    learner: str = "auto"
    """auto (SAC for Box actions, DQN for Discrete), sac, dqn or ppo."""
    budget: Optional[int] = None
    """Env steps of the fresh learner (default: the run's own budget)."""
    seed: Optional[int] = None
    """Seed of the fresh learner (default: the run's seed; evaluation seeds stay the run's)."""
    torch_threads: int = 1
    """torch CPU threads."""
    progress: bool = True
    """Progress bar."""


@dataclasses.dataclass
class RecordSchema:
    """`python -m irlkit.record` (conf/record.yaml): a typo such as `episode=3` fails early."""

    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    demos: Optional[str] = None
    """Dataset name in the store root, or a path. Required."""
    operator: Optional[str] = None
    """The operator's pseudonym. Required, and deliberately without a default."""
    episodes: int = 5
    """Episodes to keep, then stop."""
    fps: Optional[float] = None
    """Steps per second (default: the env's render_fps)."""
    input: str = "keyboard"
    """keyboard or gamepad."""
    seed: Optional[int] = None
    """Seeds the per-episode seeds (each episode's seed is stored either way)."""
    root: Optional[str] = None
    """Demos store root."""
    description: str = ""
    """The dataset's description, when it is created."""
    keep_discarded: bool = False
    """Also store discarded attempts, flagged discarded."""


@dataclasses.dataclass
class ReplaySchema:
    """`python -m irlkit.replay` (conf/replay.yaml)."""

    demos: Optional[str] = None
    """Dataset to play back (name or path). Required."""
    episode: Optional[int] = None
    """Only episode K (0-based; -1 is the last); default all, in order."""
    video: Optional[str] = None
    """Write this .mp4 (needs imageio-ffmpeg) or .gif (needs imageio) instead of opening a window."""
    root: Optional[str] = None
    """Demos store root."""
    fps: Optional[float] = None
    """Playback rate (default: the dataset's recorded fps)."""
    speed: float = 1.0
    """Speed factor of the window playback."""
    atol: float = 1e-4
    """Largest observation difference that still counts as the same (a warning says where it is exceeded)."""
    include_discarded: bool = False
    """Also play episodes flagged discarded."""


_done = False


def register_schemas() -> None:
    """Put every schema into Hydra's ConfigStore, and the env YAMLs' resolvers into OmegaConf (idempotent)."""
    global _done
    if _done:
        return
    from omegaconf import OmegaConf

    from irlkit.envs import RESOLVERS

    for (
        name,
        fn,
    ) in RESOLVERS.items():  # ${irlkit.env_name:...} (conf/env/gym.yaml), ${irlkit.stack_id:...} (lunar_lander)
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
    from hydra.core.config_store import ConfigStore

    from irlkit.algos import ALGORITHMS
    from irlkit.bench.suites import BenchConfig, SuiteConfig

    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunSchema)
    cs.store(name="evaluate_schema", node=EvaluateSchema)
    cs.store(name="record_schema", node=RecordSchema)
    cs.store(name="transfer_schema", node=TransferSchema)
    cs.store(name="replay_schema", node=ReplaySchema)
    cs.store(name="bench_schema", node=BenchConfig)
    cs.store(group="suite", name="suite_schema", node=SuiteConfig)
    cs.store(group="env", name="env_schema", node=EnvConfig)
    for name, spec in ALGORITHMS.items():
        cs.store(group="algo", name=f"{name}{SCHEMA_SUFFIX}", node=spec.config)
    for group, kinds in (("feedback", FEEDBACK_KINDS), ("expert", EXPERT_KINDS)):
        for kind, cls in kinds.items():
            cs.store(group=group, name=f"{kind}{SCHEMA_SUFFIX}", node=cls)
    _done = True
