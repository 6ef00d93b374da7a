"""One training run: demos from the store, one algorithm, artifacts and `eval.json` in the run folder.

`run_training(RunConfig(...), run_dir)` is the one function every training goes through:
`python -m irlkit`, the benchmark and the tests all call it, and it writes the run's
`config.yaml` itself, so a run made from Python is re-scored (`python -m irlkit.evaluate run=DIR`)
like any other. It builds what a run needs once (env, vec env, demos, rng, logger), and the human
side of the algorithm (a labelling page, a saved preference dataset) above the algorithms, handing
it down through `RunContext.human`: algorithms never import the human-input packages.
"""

from __future__ import annotations

import csv
import importlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Optional, cast

import numpy as np

from irlkit import __version__
from irlkit.envs import EnvConfig, detect_horizon, env_spec, extra_hint, make_venv
from irlkit.envs.episodes import run_episodes
from irlkit.errors import IrlkitError
from irlkit.evaluate import EvalConfig, evaluate, print_table, write_eval_json
from irlkit.runconfig import RunConfig, SelectConfig
from irlkit.store import Dataset, DemoStore

CONFIG_FILE = "config.yaml"

HUMAN_INPUTS: dict[tuple[str, str], str] = {
    ("feedback", "human"): "irlkit.feedback.gatherer:make_human_gatherer",
    ("feedback", "dataset"): "irlkit.feedback.dataset_gatherer:make_dataset_gatherer",
    ("feedback", "shaping"): "irlkit.shaping.watch:make_feedback_source",
    ("expert", "sb3"): "irlkit.corrections.labellers:sb3_expert",
    ("expert", "human"): "irlkit.corrections.labellers:corrector",
}
"""(group, kind) -> `module:function(algo config, group config, RunContext)` building the human side of
an algorithm, imported only when chosen (so the web server and clip rendering cost nothing to runs
that do not use them). What each returns is the object the algorithm's protocol asks for: a
`PreferenceGatherer` (preference), a `FeedbackSource` (TAMER shaping, irlkit.algos.tamer), a
`Corrector` (HG-DAgger) or the expert's policy (DAgger). Kinds not listed need nothing built here
(the synthetic annotator, say)."""


def load_demos(ref: str, select: SelectConfig, *, root: Optional[str] = None) -> Dataset:
    ds = DemoStore(root).open(ref)
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()] if s else None  # noqa: E731
    view = ds.select(operator=split(select.operator), source=split(select.source), min_return=select.min_return)
    if select.max_episodes is not None:
        ids = {m.episode_id for m in view.metas[: select.max_episodes]}
        view = view.select(where=lambda m: m.episode_id in ids)
    view.check()  # refuse, with `demos validate`'s message, data that must not be learned from
    return view


def write_config(config: RunConfig, run_dir: Path) -> Path:
    """The run's `config.yaml`: what `RunConfig.from_dict` reads back (evaluate, resume, bench)."""
    import yaml

    path = Path(run_dir) / CONFIG_FILE
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    tmp.replace(path)
    return path


def read_config(run_dir: Path) -> RunConfig:
    """The `RunConfig` a run folder was trained with."""
    import yaml

    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise IrlkitError(
            f"{run_dir} is not an irlkit run folder (no {CONFIG_FILE}); pass the folder a run printed at its end"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise IrlkitError(f"{path} is not valid YAML ({err}); the run folder is damaged") from None
    return RunConfig.from_dict(_legacy(data))


def _legacy(data: Any) -> Any:
    """config.yaml of runs made before irlkit wrote it itself held Hydra's whole config: the top-level
    `operator`/`query` helpers and every group, used or not. Read them as the run used them."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    data.pop("operator", None)
    data.pop("query", None)
    from irlkit.algos import ALGORITHMS

    spec = ALGORITHMS.get((data.get("algo") or {}).get("name"))  # type: ignore[arg-type]  # no name: no spec
    if spec is not None:
        for group in ("feedback", "expert"):
            value = data.get(group)
            if value is not None and (spec.human != group or value.get("kind") not in spec.human_kinds):
                del data[group]
    return data


def resume_training(run_dir: Path, **kwargs: Any) -> dict[str, Any]:
    """Continue a killed run from its last checkpoint to its full budget, with its saved config."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if (run_dir / "eval.json").is_file():
        raise IrlkitError(
            f"{run_dir} finished already (it has its eval.json): nothing to resume. Re-score it with "
            f"`python -m irlkit.evaluate run={run_dir}`."
        )
    return run_training(config, run_dir, resume=True, **kwargs)


def run_training(
    config: RunConfig, run_dir: Path, *, on_trainer: Optional[Callable[[Any], None]] = None, resume: bool = False
) -> dict[str, Any]:
    """Train `config.algo` on `config.demos` in `config.env`, save artifacts, `config.yaml` and
    `eval.json` into `run_dir`, and return eval.json's dict. Checkpoints are written every
    `config.checkpoint_s` seconds between rounds (and when training ends); `resume=True` continues
    from the run folder's checkpoint. `on_trainer` (tests) sees the trainer once it is built."""
    import torch as th
    from imitation.util import logger as imit_logger
    from stable_baselines3.common.utils import set_random_seed

    from irlkit.algos.base import RunContext
    from irlkit.algos.checkpoint import read_checkpoint

    config.check()
    spec, algo_cfg, env_cfg, eval_cfg = config.spec, config.algo, config.env, config.eval
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = read_checkpoint(run_dir) if resume else None
    if resume and ckpt is None:
        print(
            f"irlkit: note: {run_dir} holds no checkpoint (it was stopped before its first one): training it "
            "again from the start",
            file=sys.stderr,
        )
    write_config(config, run_dir)
    th.set_num_threads(max(1, config.torch_threads))
    # imitation's BC logs a tensor that still requires grad; harmless, and noisy on every run.
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True to a scalar")
    set_random_seed(config.seed)  # python, numpy, torch; the envs are seeded where they are made

    demos: Optional[str] = config.demos_ref
    env_spec(env_cfg.id)  # an unregistered id (or env=gym without env.id) fails here, before any demos load
    if not demos and spec.needs_demos:
        raise IrlkitError(
            f"env {env_cfg.id!r} has no default dataset (only the shipped env configs have one): pass "
            "demos=<dataset name or path>. Make one "
            f"with `python -m irlkit.demos generate {env_cfg.id} {env_cfg.name}_expert --episodes 50` (trains or "
            "reuses an SB3 expert), or record one with `python -m irlkit.record env=gym "
            f"env.id={env_cfg.id} demos={env_cfg.name}_teleop operator=<alias>`."
        )
    if demos and demos == env_cfg.demos and not DemoStore(config.demos_root).exists(demos):
        if spec.needs_demos:
            raise IrlkitError(
                f"env={env_cfg.name} trains by default on the dataset {demos!r}, which is not shipped and not in "
                f"{DemoStore(config.demos_root).root}. Make it with `python -m irlkit.demos generate {env_cfg.name} "
                f"{demos} --episodes 50` (trains or reuses an SB3 expert; needs the env's own package"
                f"{extra_hint(env_cfg.id)}), record it with `python -m irlkit.record env={env_cfg.name} "
                f"demos={demos} operator=<alias>`, or pass demos=<another dataset> recorded on this env."
            )
        demos = None  # learning without demos: their only use here is the score's yardstick
    venv = make_venv(
        env_cfg, seed=config.seed
    )  # before the demos: an env irlkit cannot handle is the first thing to fix
    dataset: Optional[Dataset] = None
    if demos:
        dataset = load_demos(demos, config.select, root=config.demos_root)
        dataset.check_spaces(venv.observation_space, venv.action_space, env_id=env_cfg.id)
        if dataset.env_id != env_cfg.id:
            print(
                f"irlkit: note: demos {dataset.name!r} were recorded on {dataset.env_id}, training on {env_cfg.id}",
                file=sys.stderr,
            )
    else:
        print(
            f"irlkit: note: no demos for {env_cfg.id}: algo={config.algo.name} learns without them, and the run is "
            "scored by its raw return (normalized_score stays empty). Pass demos=<dataset recorded on this env> "
            "to score it against the demonstrator.",
            file=sys.stderr,
        )
    variable = False
    if config.algo.name in ("gail", "airl", "preference", "density"):  # those whose rollouts imitation length-checks
        horizon = detect_horizon(env_cfg, dataset.metas if dataset is not None else None, seed=config.seed)
        variable = horizon.variable
        # only imitation's own loops leak the episode length: density, and GAIL/AIRL with the PPO generator;
        # the off-policy learners and preference give terminations an absorbing state instead
        leaks = config.algo.name == "density" or getattr(config.algo, "learner", None) == "ppo"
        if variable and leaks and config.algo.name != "preference":
            print(horizon.notice(env_cfg.id, config.algo.name), file=sys.stderr)
    logger = imit_logger.configure(folder=str(run_dir / "logs"), format_strs=["csv", "tensorboard"])
    human_cfg = config.human_input()
    ctx = RunContext(
        env_cfg=env_cfg,
        venv=venv,
        demos=dataset,
        rng=np.random.default_rng(config.seed),
        seed=config.seed,
        logger=logger,
        run_dir=run_dir,
        variable_horizon=variable,
        feedback=human_cfg if spec.human == "feedback" else None,
        expert=human_cfg if spec.human == "expert" else None,
    )
    if human_cfg is not None:
        ctx.human = build_human_input(cast(str, spec.human), human_cfg, algo_cfg, ctx)  # a human config: a group
    demo_return = float(np.mean([m.episode_return for m in dataset.metas])) if dataset is not None else None

    t0 = time.time()
    trainer = spec.build(algo_cfg, ctx)
    if on_trainer is not None:
        on_trainer(trainer)
    budget = int(algo_cfg.budget)
    planned = trainer.planned_budget(budget)
    if planned != budget:
        print(
            f"irlkit: note: algo={config.algo.name} spends {planned:,} {trainer.budget_unit}: algo.budget={budget:,} "
            f"rounded up to {trainer.rounding()}",
            file=sys.stderr,
        )
    done, wall_before = 0, 0.0
    if ckpt is not None:
        done, wall_before = _restore(trainer, ckpt, ctx)
        print(f"irlkit: resuming {run_dir} at {done:,} of {planned:,} {trainer.budget_unit}", file=sys.stderr)
    curve = _Curve(env_cfg, trainer, eval_cfg, config.seed, planned, run_dir / "curve.csv", done=done)
    bar = _progress(planned, trainer.budget_unit, f"{config.algo.name} on {env_cfg.name}", config.progress, done)
    saver = _Checkpointer(trainer, ctx, run_dir, config.checkpoint_s)

    def on_progress(n: int) -> None:
        nonlocal done
        done += n
        bar.update(n)
        curve.maybe_measure(done)
        saver.maybe_save(done, wall_before + time.time() - t0)

    if done < planned:
        trainer.train(planned - done, on_progress)
    curve.finish(done)  # rollouts may stop short of the budget: still end the curve where training ended
    bar.close()
    train_wall = wall_before + time.time() - t0
    saver.save(done, train_wall)  # a kill from here on resumes straight to saving and scoring
    artifacts = trainer.save(run_dir)
    venv.close()

    result = evaluate(
        env_cfg,
        trainer.policy,
        demo_return=demo_return,
        seed=config.seed,
        cfg=eval_cfg,
        reward=trainer.eval_reward_net,
        video_path=run_dir / "video",
    )
    result.update(
        {
            "algo": config.algo.name,
            "env": env_cfg.name,
            "env_id": env_cfg.id,
            "demos": str(dataset.path) if dataset is not None else None,
            "demo_episodes": len(dataset) if dataset is not None else 0,
            "demo_steps": dataset.num_steps if dataset is not None else 0,
            "seed": config.seed,
            "budget": budget,
            "budget_spent": done,
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


class _Checkpointer:
    """Writes the trainer's checkpoint (and the run's own counters) every `every_s` seconds, always
    between two rounds (progress is only reported there); 0 = after every round, < 0 = never."""

    def __init__(self, trainer: Any, ctx: Any, run_dir: Path, every_s: float):
        self._trainer, self._ctx, self._run_dir, self._every = trainer, ctx, run_dir, every_s
        self._last = time.time()
        self._warned = False

    def maybe_save(self, done: int, wall: float) -> None:
        if self._every >= 0 and time.time() - self._last >= self._every:
            self.save(done, wall)

    def save(self, done: int, wall: float) -> None:
        from irlkit.algos.checkpoint import rng_state, write_checkpoint

        if self._every < 0:
            return
        ckpt = self._trainer.checkpoint()
        if ckpt is None:
            if not self._warned:
                why = getattr(self._trainer, "no_checkpoint_reason", None)
                print(
                    f"irlkit: note: {type(self._trainer).__name__} writes no checkpoints"
                    f"{f' ({why})' if why else ''}: a killed run trains again from the start",
                    file=sys.stderr,
                )
                self._warned = True
            return
        rng_meta, rng_tensors = rng_state(self._ctx.rng)
        ckpt.meta["run"] = {"done": done, "wall_s": wall, "rng": rng_meta}
        ckpt.tensors["run/rng"] = rng_tensors
        write_checkpoint(ckpt, self._run_dir)
        self._last = time.time()


def _restore(trainer: Any, ckpt: Any, ctx: Any) -> tuple[int, float]:
    from irlkit.algos.checkpoint import set_rng_state

    trainer.restore(ckpt)
    run = ckpt.meta["run"]
    set_rng_state(run["rng"], ckpt.tensors["run/rng"], ctx.rng)
    return int(run["done"]), float(run["wall_s"])


def build_human_input(group: str, human_cfg: Any, algo_cfg: Any, ctx: Any) -> Optional[Any]:
    """The human side for `group=<kind>` (HUMAN_INPUTS), or None when the kind needs nothing built."""
    path = HUMAN_INPUTS.get((group, human_cfg.kind))
    if path is None:
        return None
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)(algo_cfg, human_cfg, ctx)


class _Curve:
    """Learning curve points (budget spent, env steps, return) in curve.csv, for the benchmark."""

    HEADER = ["budget_done", "env_steps", "return_mean", "wall_s"]

    def __init__(
        self, env_cfg: EnvConfig, trainer: Any, cfg: EvalConfig, seed: int, budget: int, path: Path, *, done: int = 0
    ):
        self._env_cfg, self._trainer, self._cfg, self._path = env_cfg, trainer, cfg, path
        self._seeds = [2_000_000 + 1000 * seed + i for i in range(cfg.curve_episodes)]
        n = cfg.curve_points
        self._marks = [m for m in ([budget * (k + 1) // n for k in range(n)] if n > 0 else []) if m > done]
        rows = []
        if done and path.is_file():  # resuming: keep the points measured before the checkpoint
            with open(path, newline="") as f:
                rows = [r for r in list(csv.reader(f))[1:] if r and int(r[0]) <= done]
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows([self.HEADER, *rows])
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
            csv.writer(f).writerow(
                [done, self._trainer.env_steps, float(np.mean(rollouts.returns)), round(time.time() - self._t0, 2)]
            )


def _progress(total: int, unit: str, desc: str, enabled: bool, initial: int = 0) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit=f" {unit}",
        desc=desc,
        disable=not enabled,
        dynamic_ncols=True,
        unit_scale=True,
    )


def summarize(result: dict[str, Any]) -> None:
    print_table(result, title=f"{result['algo']} on {result['env']} (seed {result['seed']})")


def read_eval(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "eval.json").read_text())
