"""`python -m irlkit.evaluate run=DIR [episodes=N] [video=true]`: re-score a saved run.

Reads the run's `config.yaml` (what `irlkit.train.run_training` wrote, from the command line or from
Python alike), loads its policy (and reward net), evaluates on the same fixed evaluation seeds as
training did, and rewrites `eval.json`, keeping the training facts (env steps, wall time) that only
the training run knows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from irlkit.cli.app import HydraCommand
from irlkit.errors import IrlkitError

STALE = {"reward_pearson", "reward_spearman", "reward_samples", "video"}
"""What an evaluation measures: replaced on re-scoring, never left from an earlier one."""


def evaluate_run(run_dir: Path, episodes: Optional[int], video: bool, deterministic: Optional[bool]) -> dict[str, Any]:
    from irlkit.envs import make_env
    from irlkit.evaluate import evaluate, print_table, write_eval_json
    from irlkit.policies import load_policy, load_tensors
    from irlkit.store import DemoStore
    from irlkit.train import load_demos, read_config

    config = read_config(run_dir)
    eval_cfg = config.eval
    if episodes is not None:  # episodes=0 is refused below, not replaced by the run's own number
        eval_cfg.episodes = episodes
    eval_cfg.video = video
    if deterministic is not None:
        eval_cfg.deterministic = deterministic
    eval_cfg.check()
    spec, env_cfg = config.spec, config.env
    previous = json.loads((run_dir / "eval.json").read_text()) if (run_dir / "eval.json").exists() else {}

    policy = load_policy(run_dir)
    reward = None
    if spec.load_eval_reward is not None and (run_dir / "reward_net.pt").exists():
        state = load_tensors(
            run_dir / "reward_net.pt",
            what=f"reward_net.pt of run {run_dir}",
            fix="train the run again, or restore the run folder from a copy you trust",
        )
        env = make_env(env_cfg)
        try:
            reward = spec.load_eval_reward(config.algo, env.observation_space, env.action_space, state)
        except (RuntimeError, KeyError, TypeError, ValueError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise IrlkitError(
                f"reward_net.pt of run {run_dir} does not fit the {config.algo.name} reward net that the run's "
                f"config.yaml describes ({first}); the file or config.yaml was changed. Restore them, or train the "
                "run again."
            ) from None
        finally:
            env.close()
    demo_return = previous.get("demo_return")  # the score's yardstick stays the one trained against
    ref = None if "demos" in previous and previous["demos"] is None else config.demos_ref  # None: trained without
    if ref and not spec.needs_demos and not DemoStore(config.demos_root).exists(ref):
        ref = None  # learns without demos, and its dataset is gone: raw return only, as training does
    if demo_return is None and ref:
        demos = load_demos(ref, config.select, root=config.demos_root)
        demo_return = sum(m.episode_return for m in demos.metas) / len(demos)
    result = evaluate(
        env_cfg,
        policy,
        demo_return=demo_return,
        seed=config.seed,
        cfg=eval_cfg,
        reward=reward,
        video_path=run_dir / "video",
    )
    merged = {**{k: v for k, v in previous.items() if k not in STALE}, **result}
    write_eval_json(run_dir, merged)
    print_table(merged, title=f"{config.algo.name} on {env_cfg.name} (seed {config.seed}), re-evaluated")
    return merged


def _job(cfg: Any, overrides: list[str]) -> dict[str, Any]:
    return evaluate_run(Path(cfg.run).expanduser().resolve(), cfg.episodes, cfg.video, cfg.deterministic)


COMMAND = HydraCommand(
    prog="python -m irlkit.evaluate",
    config_name="evaluate",
    usage="python -m irlkit.evaluate run=<run folder> [episodes=N] [video=true] [deterministic=false]",
    description="Re-score a finished run against the environment, on the run's fixed evaluation seeds.",
    footer="Writes eval.json (and video.mp4 / video.gif with video=true) into the run folder.",
    run=_job,
)


def main() -> None:
    COMMAND.main()


if __name__ == "__main__":
    main()
