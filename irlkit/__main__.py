"""`python -m irlkit algo=<name> env=<name> demos=<dataset> seed=N`: train, save, evaluate.

The only place the main job touches Hydra: it composes the config, converts it to the library's
dataclasses and calls `irlkit.train.run_training`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

import hydra
from omegaconf import MISSING, DictConfig, OmegaConf

from irlkit.algos import ALGORITHMS, AdversarialConfig, FeedbackConfig
from irlkit.config import add_schema, config_dir, register_schemas, run_entry
from irlkit.envs import EnvConfig
from irlkit.evaluate import EvalConfig
import irlkit.feedback.schemas  # noqa: F401,E402  (registers feedback=human and feedback=dataset)
import irlkit.corrections.schemas  # noqa: F401,E402  (registers expert=sb3 and expert=human)
import irlkit.shaping.schemas  # noqa: F401,E402  (registers feedback=shaping)
from irlkit.train import SelectConfig


@dataclasses.dataclass
class RunSchema:
    """The top-level config of a training run (conf/config.yaml)."""

    algo: Any = MISSING
    env: EnvConfig = MISSING
    feedback: Any = MISSING
    expert: Any = MISSING
    """Who labels DAgger's states: sb3 (imitation's DAgger) or human (HG-DAgger, docs/corrections.md)."""
    operator: Optional[str] = None
    """Pseudonym of the person giving corrections (expert=human)."""
    query: str = "always"
    """expert=human: `always` (the person takes over at will) or `uncertain` (the learner also asks when
    unsure); the same as expert.query, which it sets."""
    demos: str = MISSING
    """Dataset name in the demos store, or a path to a dataset folder."""
    demos_root: Optional[str] = None
    """Store root (default: IRLKIT_DEMOS, else the shipped demos/)."""
    seed: int = 0
    select: SelectConfig = dataclasses.field(default_factory=SelectConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    torch_threads: int = 1
    """Torch CPU threads; 1 is fastest for the small MLPs used here."""
    progress: bool = True


add_schema(None, "run_schema", RunSchema)
add_schema("feedback", "synthetic_schema", FeedbackConfig)
for _name, _spec in ALGORITHMS.items():
    if _spec.config is not AdversarialConfig:
        add_schema("algo", f"{_name}_schema", _spec.config)
add_schema("algo", "adversarial_schema", AdversarialConfig)
register_schemas()


def train_from_config(cfg: DictConfig) -> dict[str, Any]:
    from hydra.core.hydra_config import HydraConfig

    from irlkit.train import run_training, summarize

    name = cfg.algo.name
    spec = ALGORITHMS[name]
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    result = run_training(
        algo=name,
        algo_cfg=OmegaConf.to_object(cfg.algo),
        env_cfg=OmegaConf.to_object(cfg.env),
        demos=cfg.demos,
        run_dir=run_dir,
        seed=cfg.seed,
        select=OmegaConf.to_object(cfg.select),
        eval_cfg=OmegaConf.to_object(cfg.eval),
        torch_threads=cfg.torch_threads,
        progress_bar=cfg.progress,
        demos_root=cfg.demos_root,
        feedback=OmegaConf.to_container(cfg.feedback, resolve=True),
        expert=OmegaConf.to_container(cfg.expert, resolve=True),
    )
    assert spec is not None
    summarize(result)
    print(f"run folder: {run_dir}")
    return result


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(cfg: DictConfig) -> Optional[float]:
    out: dict[str, Any] = {}
    run_entry(lambda: out.update(train_from_config(cfg)))
    return out.get("normalized_score")


if __name__ == "__main__":
    main()
