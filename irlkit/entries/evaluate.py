"""`python -m irlkit.evaluate run=DIR [episodes=N] [video=true]`: re-score a saved run.

Reads the run's resolved `config.yaml`, loads its policy (and reward net), evaluates on the same
fixed evaluation seeds as training did, and rewrites `eval.json`, keeping the training facts
(env steps, wall time) that only the training run knows."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Optional

import hydra
from omegaconf import MISSING, DictConfig, OmegaConf

from irlkit.config import add_schema, config_dir, register_schemas, run_entry, to_dataclass
from irlkit.errors import IrlkitError


@dataclasses.dataclass
class EvaluateSchema:
    run: str = MISSING
    """A run folder written by `python -m irlkit`."""
    episodes: Optional[int] = None
    """Evaluation episodes (default: what the run used)."""
    video: bool = False
    """Also write a video of the first episodes into the run folder."""
    deterministic: Optional[bool] = None


add_schema(None, "evaluate_schema", EvaluateSchema)
register_schemas()


def evaluate_run(run_dir: Path, episodes: Optional[int], video: bool, deterministic: Optional[bool]) -> dict[str, Any]:
    from irlkit.algos import ALGORITHMS
    from irlkit.envs import EnvConfig, make_env
    from irlkit.evaluate import EvalConfig, evaluate, print_table, write_eval_json
    from irlkit.policies import load_policy, load_tensors
    from irlkit.train import SelectConfig, load_demos

    cfg_path = run_dir / "config.yaml"
    if not cfg_path.exists():
        raise IrlkitError(f"{run_dir} is not an irlkit run folder (no config.yaml); pass run=<folder printed at the end of a run>")
    cfg = OmegaConf.load(cfg_path)
    env_cfg = to_dataclass(EnvConfig, cfg.env)
    eval_section: dict[str, Any] = dict(OmegaConf.to_container(cfg.eval, resolve=True))  # type: ignore[arg-type]
    eval_section["video"] = video
    if episodes is not None:
        eval_section["episodes"] = episodes
    if deterministic is not None:
        eval_section["deterministic"] = deterministic
    eval_cfg = to_dataclass(EvalConfig, eval_section)  # checked: episodes=0 is refused here
    spec = ALGORITHMS[cfg.algo.name]
    algo_cfg = to_dataclass(spec.config, cfg.algo)
    previous = json.loads((run_dir / "eval.json").read_text()) if (run_dir / "eval.json").exists() else {}

    policy = load_policy(run_dir)
    reward = None
    if spec.load_eval_reward is not None and (run_dir / "reward_net.pt").exists():
        env = make_env(env_cfg)
        state = load_tensors(run_dir / "reward_net.pt", what=f"reward_net.pt of run {run_dir}",
                             fix="train the run again, or restore the run folder from a copy you trust")
        try:
            reward = spec.load_eval_reward(algo_cfg, env.observation_space, env.action_space, state)
        except (RuntimeError, KeyError, TypeError, ValueError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise IrlkitError(
                f"reward_net.pt of run {run_dir} does not fit the {cfg.algo.name} reward net that the run's config.yaml "
                f"describes ({first}); the file or config.yaml was changed. Restore them, or train the run again."
            ) from None
        finally:
            env.close()
    demo_return = previous.get("demo_return")  # the score's yardstick stays the one trained against
    if demo_return is None:
        demos = load_demos(cfg.demos, to_dataclass(SelectConfig, cfg.select), root=cfg.get("demos_root"))
        demo_return = sum(m.episode_return for m in demos.metas) / len(demos)
    result = evaluate(env_cfg, policy, demo_return=demo_return, seed=cfg.seed, cfg=eval_cfg, reward=reward, video_path=run_dir / "video")
    # facts of the training stay; what this evaluation measures is replaced, never left stale
    stale = {"reward_pearson", "reward_spearman", "reward_samples", "video"}
    merged = {**{k: v for k, v in previous.items() if k not in stale}, **result}
    write_eval_json(run_dir, merged)
    print_table(merged, title=f"{cfg.algo.name} on {env_cfg.name} (seed {cfg.seed}), re-evaluated")
    return merged


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    run_entry(lambda: evaluate_run(Path(cfg.run).expanduser().resolve(), cfg.episodes, cfg.video, cfg.deterministic))
