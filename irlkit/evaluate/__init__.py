"""Score a learned policy (and reward) against the environment's true reward.

Needs an env config and a policy, never an algorithm's internals. Every run writes the same
`eval.json`, so runs of different algorithms compare directly:

- `return_mean`, `return_std` over `episodes` episodes, on fixed evaluation seeds that differ
  from every training seed, deterministic actions by default;
- `demo_return` (the demonstrations' own mean return) and `random_return` (a uniformly random
  policy on the same evaluation seeds), and
  `normalized_score = (return_mean - random_return) / (demo_return - random_return)`;
- for algorithms that learn a reward: Pearson and Spearman correlation of the learned reward with
  the true reward on held-out transitions (the evaluation episodes of the learned policy and of
  the random policy, none of which was trained on).

Run alone on a saved run: `python -m irlkit.evaluate run=DIR [episodes=N] [video=true]`.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Optional, cast

import numpy as np

from irlkit.envs import EnvConfig, make_env, render_fps
from irlkit.envs.episodes import Rollouts, run_episodes
from irlkit.errors import IrlkitError
from irlkit.evaluate.config import EvalConfig

EVAL_SEED_BASE = 1_000_000
"""Evaluation seeds start here; training seeds are small integers, so the two never meet."""


def eval_seeds(seed: int, episodes: int) -> list[int]:
    return [EVAL_SEED_BASE + 1000 * seed + i for i in range(episodes)]


def reward_agreement(reward: Any, rollouts: list[Rollouts]) -> dict[str, Optional[float]]:
    """Correlation of a learned reward with the true one on held-out transitions.

    `reward` is an imitation RewardNet (its `predict`, unnormalised) or any RewardFn callable.
    EPIC distance is not reported: it needs the true reward of arbitrary (s, a, s') triples,
    which a gymnasium env does not expose."""
    from scipy import stats

    obs = np.concatenate([r.obs for r in rollouts])
    acts = np.concatenate([r.acts for r in rollouts])
    next_obs = np.concatenate([r.next_obs for r in rollouts])
    dones = np.concatenate([r.dones for r in rollouts])
    true = np.concatenate([r.rews for r in rollouts])
    if hasattr(reward, "predict"):
        learned = reward.predict(obs, acts, next_obs, dones)
    else:
        learned = reward(obs, acts, next_obs, dones)
    learned = np.asarray(learned, dtype=np.float64).reshape(-1)
    if np.ptp(true) == 0 or np.ptp(learned) == 0 or not np.isfinite(learned).all():
        return {"reward_pearson": None, "reward_spearman": None, "reward_samples": len(true)}
    return {
        "reward_pearson": float(stats.pearsonr(learned, true)[0]),
        "reward_spearman": float(stats.spearmanr(learned, true)[0]),
        "reward_samples": len(true),
    }


def normalized(ret: float, demo: Optional[float], rand: float) -> Optional[float]:
    if demo is None or math.isclose(demo, rand):
        return None
    return (ret - rand) / (demo - rand)


def evaluate(
    env_cfg: EnvConfig,
    policy: Any,
    *,
    demo_return: Optional[float],
    seed: int,
    cfg: EvalConfig,
    reward: Any = None,
    video_path: Optional[Path] = None,
) -> dict[str, Any]:
    """Everything `eval.json` holds except the training facts (env steps, wall time)."""
    cfg.check()
    t0 = time.time()
    seeds = eval_seeds(seed, cfg.episodes)
    n_frames = cfg.video_episodes if (cfg.video and video_path is not None) else 0
    learned = run_episodes(env_cfg, policy, seeds, deterministic=cfg.deterministic, record_frames=n_frames)
    rand = run_episodes(env_cfg, None, seeds)
    ret_mean, rand_mean = float(np.mean(learned.returns)), float(np.mean(rand.returns))
    result: dict[str, Any] = {
        "return_mean": ret_mean,
        "return_std": float(np.std(learned.returns)),
        "returns": learned.returns,
        "episodes": cfg.episodes,
        "eval_seeds": seeds,
        "deterministic": cfg.deterministic,
        "demo_return": demo_return,
        "random_return": rand_mean,
        "normalized_score": normalized(ret_mean, demo_return, rand_mean),
    }
    if reward is not None:
        result.update(reward_agreement(reward, [learned, rand]))
    if n_frames:
        result["video"] = write_video(
            learned.frames, cast(Path, video_path), fps=env_fps(env_cfg)
        ).name  # n_frames: a path
    result["eval_wall_s"] = time.time() - t0
    return result


def env_fps(env_cfg: EnvConfig) -> int:
    env = make_env(env_cfg)
    try:
        return int(render_fps(env))
    finally:
        env.close()


def write_video(frames: list[np.ndarray], path: Path, *, fps: int) -> Path:
    """mp4 when imageio-ffmpeg is installed, else an animated gif beside it."""
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise IrlkitError(
            "video=true needs imageio: pip install 'irlkit[video]' (imageio and imageio-ffmpeg)"
        ) from None
    if not frames:
        raise IrlkitError("no frames were rendered: this env cannot render rgb_array frames")
    try:
        import imageio_ffmpeg  # noqa: F401

        out = path.with_suffix(".mp4")
        imageio.mimwrite(out, cast("list[Any]", frames), fps=fps, macro_block_size=1)  # the stub's list is invariant
    except ImportError:
        out = path.with_suffix(".gif")
        imageio.mimwrite(out, cast("list[Any]", frames), duration=1000 / fps, loop=0)
    return out


def print_table(result: dict[str, Any], title: str = "evaluation") -> None:
    """The end-of-run summary: one aligned table of the numbers users compare."""
    rows = [
        ("return", f"{result['return_mean']:.2f} ± {result['return_std']:.2f} ({result['episodes']} episodes)"),
        ("demo return", _fmt(result.get("demo_return"))),
        ("random return", _fmt(result.get("random_return"))),
        ("normalized score", _fmt(result.get("normalized_score"), 3)),
    ]
    for key, label in (("reward_pearson", "reward Pearson r"), ("reward_spearman", "reward Spearman ρ")):
        if key in result:
            rows.append((label, _fmt(result[key], 3)))
    for key, label in (("env_steps", "env steps"), ("wall_s", "train wall time [s]")):
        if key in result:
            rows.append((label, _fmt(result[key], 1)))
    width = max(len(r[0]) for r in rows)
    print(f"\n{title}")
    print("-" * (width + 40))
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    print("-" * (width + 40))


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def write_eval_json(run_dir: Path, result: dict[str, Any]) -> Path:
    path = run_dir / "eval.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path
