"""Env steps (and wall time) to reach normalized score 0.9: irlkit's defaults against imitation 1.0.1's.

    .venv/bin/python bench/steps_to_target.py                         # 4 classic envs, GAIL + AIRL, seeds 0-2
    .venv/bin/python bench/steps_to_target.py --envs cartpole --algos gail --seeds 0 --side irlkit

For every (env, algo, seed) two learners train on the same shipped demos with the same seed:
- **irlkit**: `python -m irlkit algo=<algo> env=<env>`'s configuration exactly (composed by Hydra from
  conf/, the dataclass defaults plus any conf/algo_env file: the off-policy DAC generator), capped
  at `--irlkit-cap` env steps;
- **imitation**: imitation 1.0.1's GAIL/AIRL with its own script defaults (`imitation.scripts.
  train_adversarial` and its ingredients; the Sacred scripts themselves do not run on this stack):
  8 envs, PPO generator with rollouts of 2048 steps (n_steps 256 × 8), lr 3e-4, minibatch 64,
  10 epochs, ent_coef 0, `FeedForward32Policy`; BasicRewardNet (AIRL: BasicShapedRewardNet) with
  RunningNorm input and output normalisation; demo batch 1024, 4 discriminator updates per round,
  generator replay capacity 2048; `allow_variable_horizon` for envs that end early, as imitation's
  own named configs for such envs set; capped at `--imitation-cap` env steps (1M: its default).

Both are scored at checkpoints (every `--irlkit-every` / `--imitation-every` env steps) by the same
evaluator (irlkit.evaluate.run_episodes: `--episodes` deterministic episodes on fixed seeds, the
same seeds for both sides), normalized with the demos' mean return and a random policy's on those
seeds. A run stops at its first checkpoint at or above `--target`; "steps to target" is that
checkpoint's env steps, "never" if the cap came first. Wall and CPU seconds count training only
(the checkpoints' evaluations are excluded), one process, one torch thread.

Writes `<out>/runs.jsonl` (one line per run; a rerun skips runs already there) and `<out>/report.md`.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHECK_SEED_BASE = 3_000_000
"""Checkpoint evaluation seeds: away from training seeds and from irlkit's own evaluation seeds."""


class _Reached(Exception):
    """Raised from a checkpoint to end training once the target is met."""


class Clock:
    """Wall and CPU seconds of training only: evaluation time is paused out."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._t = self._c = 0.0

    def start(self) -> None:
        self._t, self._c = time.time(), _cpu()

    def stop(self) -> None:
        self.wall += time.time() - self._t
        self.cpu += _cpu() - self._c


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Checkpoints:
    """Scores the policy every `every` env steps; raises `_Reached` at the target."""

    def __init__(
        self, env_cfg: Any, seed: int, episodes: int, demo_return: float, every: int, target: float, clock: Clock
    ) -> None:
        from irlkit.envs.episodes import run_episodes

        self._run = run_episodes
        self.env_cfg, self.every, self.target, self.clock = env_cfg, every, target, clock
        self.seeds = [CHECK_SEED_BASE + 1000 * seed + i for i in range(episodes)]
        self.demo = demo_return
        self.random = float(np.mean(run_episodes(env_cfg, None, self.seeds).returns))
        self.next = every
        self.curve: list[tuple[int, float, float]] = []
        self.reached: int | None = None

    def normalized(self, ret: float) -> float:
        return (ret - self.random) / (self.demo - self.random)

    def maybe(self, steps: int, policy: Any) -> None:
        if steps < self.next:
            return
        while self.next <= steps:
            self.next += self.every
        self.clock.stop()
        ret = float(np.mean(self._run(self.env_cfg, policy, self.seeds, deterministic=True).returns))
        score = self.normalized(ret)
        self.curve.append((steps, ret, round(self.clock.wall, 1)))
        self.clock.start()
        if score >= self.target:
            self.reached = steps
            raise _Reached


def _context(env_cfg: Any, seed: int, run_dir: Path) -> Any:
    """What `irlkit.train.run_training` builds before the trainer (seeded the same way)."""
    from imitation.util import logger as imit_logger
    from stable_baselines3.common.utils import set_random_seed

    from irlkit.algos.base import RunContext
    from irlkit.envs import make_venv
    from irlkit.train import SelectConfig, load_demos

    set_random_seed(seed)
    demos = load_demos(env_cfg.demos, SelectConfig())
    venv = make_venv(env_cfg, seed=seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    logger = imit_logger.configure(folder=str(run_dir / "logs"), format_strs=["csv"])
    return RunContext(
        env_cfg=env_cfg,
        venv=venv,
        demos=demos,
        rng=np.random.default_rng(seed),
        seed=seed,
        logger=logger,
        run_dir=run_dir,
        variable_horizon=env_cfg.horizon == "variable",
    )


def compose(algo: str, env: str, overrides: list[str]) -> tuple[Any, Any]:
    """The algo and env configs `python -m irlkit algo=<algo> env=<env> <overrides>` would use."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    from irlkit.cli.app import config_dir
    from irlkit.cli.schemas import register_schemas

    register_schemas()

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name="steps_to_target"):
        cfg = hydra_compose(config_name="config", overrides=[f"algo={algo}", f"env={env}", *overrides])
    return OmegaConf.to_object(cfg.algo), OmegaConf.to_object(cfg.env)


def run_irlkit(
    algo: str, env: str, seed: int, cap: int, every: int, episodes: int, target: float, out: Path, overrides: list[str]
) -> dict[str, Any]:
    from irlkit.algos import ALGORITHMS

    algo_cfg, env_cfg = compose(algo, env, [f"algo.budget={cap}", *overrides])
    ctx = _context(env_cfg, seed, out / f"irlkit-{algo}-{env}-seed{seed}")
    demo_return = float(np.mean([m.episode_return for m in ctx.demos.metas]))
    clock = Clock()
    checks = Checkpoints(env_cfg, seed, episodes, demo_return, every, target, clock)
    clock.start()
    trainer = ALGORITHMS[algo].build(algo_cfg, ctx)
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        checks.maybe(done, trainer.policy)

    try:
        trainer.train(cap, progress)
    except _Reached:
        pass
    clock.stop()
    ctx.venv.close()
    return _row("irlkit", algo, env, seed, cap, checks, clock, done, config=_describe(algo_cfg))


def _describe(cfg: Any) -> str:
    learner = getattr(cfg, "learner", "")
    return f"learner={learner}" if learner else ""


def run_imitation(
    algo: str, env: str, seed: int, cap: int, every: int, episodes: int, target: float, out: Path
) -> dict[str, Any]:
    from imitation.algorithms.adversarial.airl import AIRL
    from imitation.algorithms.adversarial.gail import GAIL
    from imitation.data.wrappers import RolloutInfoWrapper
    from imitation.policies.base import FeedForward32Policy
    from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet, NormalizedRewardNet
    from imitation.util import networks
    from imitation.util.util import make_vec_env
    from stable_baselines3 import PPO

    from irlkit.envs import load_env_config

    env_cfg = load_env_config(env)
    ctx = _context(env_cfg, seed, out / f"imitation-{algo}-{env}-seed{seed}")
    ctx.venv.close()
    demo_return = float(np.mean([m.episode_return for m in ctx.demos.metas]))
    clock = Clock()
    checks = Checkpoints(env_cfg, seed, episodes, demo_return, every, target, clock)
    clock.start()
    venv = make_vec_env(
        env_cfg.id,
        rng=np.random.default_rng(seed),
        n_envs=8,
        parallel=False,
        post_wrappers=[lambda e, _: RolloutInfoWrapper(e)],
    )
    gen = PPO(
        FeedForward32Policy,
        venv,
        n_steps=2048 // 8,
        batch_size=64,
        n_epochs=10,
        learning_rate=3e-4,
        ent_coef=0.0,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    if algo == "airl":
        base = BasicShapedRewardNet(
            venv.observation_space, venv.action_space, normalize_input_layer=networks.RunningNorm
        )
    else:
        base = BasicRewardNet(venv.observation_space, venv.action_space, normalize_input_layer=networks.RunningNorm)
    reward_net = NormalizedRewardNet(base, networks.RunningNorm)
    cls = AIRL if algo == "airl" else GAIL
    trainer = cls(
        demonstrations=ctx.demos.to_trajectories(),
        demo_batch_size=1024,
        n_disc_updates_per_round=4,
        gen_replay_buffer_capacity=2048,
        venv=venv,
        gen_algo=gen,
        reward_net=reward_net,
        allow_variable_horizon=env_cfg.horizon == "variable",
        log_dir=str(ctx.run_dir / "logs"),
        custom_logger=ctx.logger,
    )
    done = 0
    try:
        while done < cap:
            trainer.train_gen(trainer.gen_train_timesteps)
            for _ in range(trainer.n_disc_updates_per_round):
                with networks.training(trainer.reward_train):
                    trainer.train_disc()
            done += trainer.gen_train_timesteps
            checks.maybe(done, trainer.policy)
    except _Reached:
        pass
    clock.stop()
    venv.close()
    return _row("imitation", algo, env, seed, cap, checks, clock, done, config="PPO, imitation script defaults")


def _row(
    side: str, algo: str, env: str, seed: int, cap: int, checks: Checkpoints, clock: Clock, done: int, config: str
) -> dict[str, Any]:
    last = checks.curve[-1][1] if checks.curve else float("nan")
    return {
        "side": side,
        "algo": algo,
        "env": env,
        "seed": seed,
        "cap": cap,
        "config": config,
        "steps_to_target": checks.reached,
        "env_steps": done,
        "wall_s": round(clock.wall, 1),
        "cpu_s": round(clock.cpu, 1),
        "last_return": last,
        "last_normalized": checks.normalized(last),
        "demo_return": checks.demo,
        "random_return": checks.random,
        "curve": checks.curve,
    }


def _fmt_steps(v: Any, cap: int) -> str:
    return f"never within {cap:,}" if v is None else f"{v:,}"


def report(rows: list[dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    md = [
        "# Env steps to reach normalized 0.9: irlkit vs imitation 1.0.1's defaults",
        "",
        f"Command: `.venv/bin/python bench/steps_to_target.py {' '.join(sys.argv[1:])}`",
        "",
        f"Checkpoints: irlkit every {args.irlkit_every:,} env steps, imitation every {args.imitation_every:,} "
        f"(rounds of 2048); {args.episodes} deterministic episodes each; target {args.target}. "
        "Wall/CPU: training only, to the target (or the cap), one process, one torch thread.",
        "",
        "| env | algo | seed | irlkit: steps to target | imitation: steps to target | ratio | irlkit wall s / CPU s | imitation wall s / CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["side"], r["algo"], r["env"], r["seed"]): r for r in rows}
    cells: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    for (side, algo, env, seed), r in sorted(by.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][3])):
        if side != "irlkit":
            continue
        m = by.get(("imitation", algo, env, seed))
        ours = r["steps_to_target"]
        theirs = m["steps_to_target"] if m else None
        ratio = _ratio(ours, theirs, m["cap"] if m else None)
        md.append(
            f"| {env} | {algo} | {seed} | {_fmt_steps(ours, r['cap'])} | "
            f"{_fmt_steps(theirs, m['cap']) if m else '(not run)'} | {ratio} | {r['wall_s']:.0f} / {r['cpu_s']:.0f} | "
            f"{(str(round(m['wall_s'])) + ' / ' + str(round(m['cpu_s']))) if m else ''} |"
        )
        cells.setdefault((env, algo), []).append((r, m))
    md += [
        "",
        "Per cell (median over seeds; a run that never reached the target counts as its cap, so a ratio "
        "against a cap is a lower bound, written ≥):",
        "",
        "| env | algo | seeds | irlkit median steps | imitation median steps | ratio | irlkit median wall s | imitation median wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (env, algo), pairs in sorted(cells.items()):
        ours = [p[0]["steps_to_target"] if p[0]["steps_to_target"] is not None else math.inf for p in pairs]
        theirs = [
            p[1]["steps_to_target"] if p[1] and p[1]["steps_to_target"] is not None else math.inf for p in pairs if p[1]
        ]
        mo, mt = float(np.median(ours)), (float(np.median(theirs)) if theirs else math.nan)
        cap_t = pairs[0][1]["cap"] if pairs[0][1] else None
        ratio = _ratio(
            None if math.isinf(mo) else int(mo), None if math.isinf(mt) or math.isnan(mt) else int(mt), cap_t
        )
        md.append(
            f"| {env} | {algo} | {len(pairs)} | {_fmt_steps(None if math.isinf(mo) else int(mo), pairs[0][0]['cap'])} | "
            f"{_fmt_steps(None if math.isinf(mt) else int(mt), cap_t) if theirs else '(not run)'} | {ratio} | "
            f"{np.median([p[0]['wall_s'] for p in pairs]):.0f} | "
            f"{(str(round(float(np.median([p[1]['wall_s'] for p in pairs if p[1]]))))) if theirs else ''} |"
        )
    path.write_text("\n".join(md) + "\n")


def _ratio(ours: Any, theirs: Any, cap: Any) -> str:
    if ours is None or cap is None:
        return "–"
    if theirs is None:
        return f"≥ {cap / ours:.0f}×"
    return f"{theirs / ours:.1f}×"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=["cartpole", "mountain_car", "pendulum", "mountain_car_continuous"])
    p.add_argument("--algos", nargs="+", default=["gail", "airl"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--side", choices=["both", "irlkit", "imitation"], default="both")
    p.add_argument("--irlkit-cap", type=int, default=50_000)
    p.add_argument("--irlkit-every", type=int, default=2_000)
    p.add_argument("--imitation-cap", type=int, default=1_000_000)
    p.add_argument("--imitation-every", type=int, default=8_192)
    p.add_argument("--episodes", type=int, default=5)
    p.add_argument("--target", type=float, default=0.9)
    p.add_argument("--override", nargs="*", default=[], help="extra overrides for the irlkit side (key=value)")
    p.add_argument("--out", type=Path, default=REPO / "bench_out" / "steps_to_target")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    import warnings

    warnings.filterwarnings("ignore", message=".*precision lowered.*")
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    have = {(r["side"], r["algo"], r["env"], r["seed"]) for r in rows}
    sides = ["irlkit", "imitation"] if args.side == "both" else [args.side]
    for env in args.envs:
        for algo in args.algos:
            for seed in args.seeds:
                for side in sides:
                    if (side, algo, env, seed) in have:
                        continue
                    if side == "irlkit":
                        row = run_irlkit(
                            algo,
                            env,
                            seed,
                            args.irlkit_cap,
                            args.irlkit_every,
                            args.episodes,
                            args.target,
                            args.out,
                            args.override,
                        )
                    else:
                        row = run_imitation(
                            algo,
                            env,
                            seed,
                            args.imitation_cap,
                            args.imitation_every,
                            args.episodes,
                            args.target,
                            args.out,
                        )
                    rows.append(row)
                    with open(log, "a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(
                        f"{side:9s} {algo} {env} seed {seed}: steps to target {row['steps_to_target']}, "
                        f"wall {row['wall_s']} s, last normalized {row['last_normalized']:.2f}",
                        flush=True,
                    )
                    report(rows, args, args.out / "report.md")
    report(rows, args, args.out / "report.md")


if __name__ == "__main__":
    main()
