"""One run: demos from the store, one algorithm, artifacts and `eval.json` in the run folder.

The library entry (`run_training`) takes plain dataclasses, so it works from Python without Hydra;
`python -m irlkit` converts its config and calls it.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from irlkit import __version__
from irlkit.algos import ALGORITHMS
from irlkit.envs import EnvConfig, extra_hint, make_venv
from irlkit.errors import IrlkitError
from irlkit.evaluate import EvalConfig, evaluate, print_table, run_episodes, write_eval_json
from irlkit.store import Dataset, DemoStore


@dataclasses.dataclass
class SelectConfig:
    """Which episodes of the dataset to learn from (the bias question: whose feedback counts)."""

    operator: Optional[str] = None
    """Only this operator's episodes (comma-separated for several)."""
    source: Optional[str] = None
    """Only this source: teleop, policy, script, import, correction (comma-separated)."""
    min_return: Optional[float] = None
    max_episodes: Optional[int] = None
    """Use at most this many episodes (the first ones in commit order)."""


def load_demos(ref: str, select: SelectConfig, *, root: Optional[str] = None) -> Dataset:
    ds = DemoStore(root).open(ref)
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()] if s else None  # noqa: E731
    view = ds.select(operator=split(select.operator), source=split(select.source), min_return=select.min_return)
    if select.max_episodes is not None:
        ids = {m.episode_id for m in view.metas[: select.max_episodes]}
        view = view.select(where=lambda m: m.episode_id in ids)
    return view


def run_training(
    *,
    algo: str,
    algo_cfg: Any,
    env_cfg: EnvConfig,
    demos: str,
    run_dir: Path,
    seed: int = 0,
    select: Optional[SelectConfig] = None,
    eval_cfg: Optional[EvalConfig] = None,
    torch_threads: int = 1,
    progress_bar: bool = True,
    demos_root: Optional[str] = None,
    feedback: Optional[dict[str, Any]] = None,
    expert: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """Train `algo` on `demos` in `env_cfg`, save artifacts into `run_dir`, return eval.json's dict."""
    import torch as th
    from imitation.util import logger as imit_logger

    from irlkit.algos.base import RunContext

    if algo not in ALGORITHMS:
        raise IrlkitError(f"unknown algorithm {algo!r}; choose one of {', '.join(ALGORITHMS)}")
    spec = ALGORITHMS[algo]
    select = select or SelectConfig()
    eval_cfg = eval_cfg or EvalConfig()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    th.set_num_threads(max(1, torch_threads))
    # imitation's BC logs a tensor that still requires grad; harmless, and noisy on every run.
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True to a scalar")
    from stable_baselines3.common.utils import set_random_seed

    set_random_seed(seed)  # python, numpy, torch; the envs are seeded where they are made

    if demos == env_cfg.demos and not DemoStore(demos_root).exists(demos):
        raise IrlkitError(
            f"env={env_cfg.name} trains by default on the dataset {demos!r}, which is not shipped and not in "
            f"{DemoStore(demos_root).root}. Make it with `python -m irlkit.demos generate {env_cfg.name} {demos} "
            "--episodes 50` (trains or reuses an SB3 expert; needs the env's own package"
            f"{extra_hint(env_cfg.id)}), record it with `python -m irlkit.record env={env_cfg.name} demos={demos} "
            "operator=<alias>`, or pass demos=<another dataset> recorded on this env."
        )
    dataset = load_demos(demos, select, root=demos_root)
    venv = make_venv(env_cfg, seed=seed)
    dataset.check_spaces(venv.observation_space, venv.action_space, env_id=env_cfg.id)
    if dataset.env_id != env_cfg.id:
        print(f"irlkit: note: demos {dataset.name!r} were recorded on {dataset.env_id}, training on {env_cfg.id}", file=sys.stderr)
    variable = env_cfg.horizon == "variable"
    if variable and algo in ("preference", "density"):  # gail/airl say it themselves: only their PPO path leaks
        print(
            f"irlkit: note: {env_cfg.id} ends episodes at different lengths; {algo} runs with imitation's "
            "allow_variable_horizon=True, so episode length itself can leak into the learned reward.",
            file=sys.stderr,
        )
    logger = imit_logger.configure(folder=str(run_dir / "logs"), format_strs=["csv", "tensorboard"])
    ctx = RunContext(env_cfg=env_cfg, venv=venv, demos=dataset, rng=np.random.default_rng(seed), seed=seed,
                     logger=logger, run_dir=run_dir, variable_horizon=variable, feedback=feedback,
                     expert=expert)
    demo_return = float(np.mean([m.episode_return for m in dataset.metas]))

    t0 = time.time()
    trainer = spec.build(algo_cfg, ctx)
    budget = int(algo_cfg.budget)
    curve = _Curve(env_cfg, trainer, eval_cfg, seed, budget, run_dir / "curve.csv")
    bar = _progress(budget, trainer.budget_unit, f"{algo} on {env_cfg.name}", progress_bar)

    done = 0

    def on_progress(n: int) -> None:
        nonlocal done
        done += n
        bar.update(n)
        curve.maybe_measure(done)

    trainer.train(budget, on_progress)
    curve.finish(done)  # rollouts may stop short of the budget: still end the curve where training ended
    bar.close()
    train_wall = time.time() - t0
    artifacts = trainer.save(run_dir)
    venv.close()

    result = evaluate(
        env_cfg,
        trainer.policy,
        demo_return=demo_return,
        seed=seed,
        cfg=eval_cfg,
        reward=trainer.eval_reward_net,
        video_path=run_dir / "video",
    )
    result.update(
        {
            "algo": algo,
            "env": env_cfg.name,
            "env_id": env_cfg.id,
            "demos": str(dataset.path),
            "demo_episodes": len(dataset),
            "demo_steps": dataset.num_steps,
            "seed": seed,
            "budget": budget,
            "budget_unit": trainer.budget_unit,
            "env_steps": trainer.env_steps,
            "wall_s": train_wall,
            "artifacts": artifacts,
            "irlkit_version": __version__,
        }
    )
    result.update(trainer.summary())
    write_eval_json(run_dir, result)
    return result


class _Curve:
    """Learning curve points (budget spent, env steps, return) in curve.csv, for the benchmark."""

    def __init__(self, env_cfg: EnvConfig, trainer: Any, cfg: EvalConfig, seed: int, budget: int, path: Path):
        self._env_cfg, self._trainer, self._cfg, self._path = env_cfg, trainer, cfg, path
        self._seeds = [2_000_000 + 1000 * seed + i for i in range(cfg.curve_episodes)]
        n = cfg.curve_points
        self._marks = [budget * (k + 1) // n for k in range(n)] if n > 0 else []
        with open(path, "w", newline="") as f:
            csv.writer(f).writerow(["budget_done", "env_steps", "return_mean", "wall_s"])
        self._t0 = time.time()

    def finish(self, done: int) -> None:
        if self._marks:
            self._marks = [done]
            self.maybe_measure(done)

    def maybe_measure(self, done: int) -> None:
        if not self._marks or done < self._marks[0]:
            return
        while self._marks and done >= self._marks[0]:
            self._marks.pop(0)
        rollouts = run_episodes(self._env_cfg, self._trainer.policy, self._seeds, deterministic=self._cfg.deterministic)
        with open(self._path, "a", newline="") as f:
            csv.writer(f).writerow([done, self._trainer.env_steps, float(np.mean(rollouts.returns)), round(time.time() - self._t0, 2)])


def _progress(total: int, unit: str, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=f" {unit}", desc=desc, disable=not enabled, dynamic_ncols=True, unit_scale=True)


def summarize(result: dict[str, Any]) -> None:
    print_table(result, title=f"{result['algo']} on {result['env']} (seed {result['seed']})")


def read_eval(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "eval.json").read_text())
