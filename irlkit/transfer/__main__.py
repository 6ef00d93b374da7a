"""`python -m irlkit.transfer run=DIR [budget=N] [learner=auto|sac|dqn|ppo] [seed=N]`: reward transfer.

Rebuilds the finished run's recovered reward (the one `eval.json`'s reward correlation scores:
AIRL's unshaped g, GAIL's -log(1 - D), preference's model), trains a fresh learner on it alone
(`irlkit.transfer.train_on_frozen_reward`) and scores that learner on the env's true reward with
the run's evaluation seeds and demo return. Writes `DIR/transfer/transfer.json` and the policy
(`DIR/transfer/policy.zip`, `policy.json`)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from irlkit.cli.app import HydraCommand
from irlkit.errors import IrlkitError
from irlkit.transfer import TransferConfig


def transfer_run(
    run_dir: Path, cfg: TransferConfig, *, progress_bar: bool = False, torch_threads: int = 1
) -> dict[str, Any]:
    """Reward transfer for one finished run; writes and returns `transfer/transfer.json`'s dict."""
    import torch as th
    from stable_baselines3.common.utils import set_random_seed
    from tqdm.auto import tqdm

    from irlkit.algos.learners import save_learner
    from irlkit.envs import make_env
    from irlkit.evaluate import evaluate, print_table
    from irlkit.policies import load_tensors, save_policy_zip
    from irlkit.train import read_config
    from irlkit.transfer import train_on_frozen_reward

    eval_path, net_path = run_dir / "eval.json", run_dir / "reward_net.pt"
    if not (run_dir / "config.yaml").exists() or not eval_path.exists():
        raise IrlkitError(
            f"{run_dir} is not a finished irlkit run (it needs config.yaml and eval.json); pass "
            "run=<the folder a finished `python -m irlkit` run printed>"
        )
    config = read_config(run_dir)
    algo, spec = config.algo.name, config.spec
    if spec.load_eval_reward is None or not net_path.exists():
        raise IrlkitError(
            f"the run in {run_dir} ({algo}) has no learned reward to transfer (no reward_net.pt): pass "
            "a run of an algorithm that learns one (gail, airl, preference)"
        )
    if cfg.budget is not None and cfg.budget < 1:
        raise IrlkitError(
            f"budget={cfg.budget}: give the fresh learner 1 or more env steps, or leave budget out "
            "for the run's own budget"
        )
    previous = json.loads(eval_path.read_text())
    env_cfg, eval_cfg, algo_cfg = config.env, config.eval, config.algo
    budget = int(cfg.budget if cfg.budget is not None else algo_cfg.budget)
    seed = int(cfg.seed if cfg.seed is not None else config.seed)
    th.set_num_threads(max(1, torch_threads))
    set_random_seed(seed)

    env = make_env(env_cfg)
    state = load_tensors(
        net_path,
        what=f"reward_net.pt of run {run_dir}",
        fix="train the run again, or restore the run folder from a copy you trust",
    )
    reward = spec.load_eval_reward(algo_cfg, env.observation_space, env.action_space, state)
    env.close()

    bar = tqdm(
        total=budget,
        unit=" env_steps",
        desc=f"transfer of {algo}'s reward",
        disable=not progress_bar,
        dynamic_ncols=True,
    )
    t0 = time.time()
    model = train_on_frozen_reward(
        reward,
        env_cfg,
        learner=cfg.learner,
        budget=budget,
        seed=seed,
        sac=getattr(algo_cfg, "sac", None),
        dqn=getattr(algo_cfg, "dqn", None),
        ppo=getattr(algo_cfg, "ppo", None),
        progress=bar.update,
    )
    wall = time.time() - t0
    bar.close()
    out = run_dir / "transfer"
    out.mkdir(exist_ok=True)
    if type(model).__name__ == "PPO":
        save_policy_zip(model.policy, out / "policy.zip", model)
    else:
        save_learner(model, out / "policy.zip")
    result = evaluate(env_cfg, model.policy, demo_return=previous.get("demo_return"), seed=config.seed, cfg=eval_cfg)
    result.update(
        {
            "source_run": str(run_dir),
            "source_algo": algo,
            "reward": _reward_name(algo),
            "learner": type(model).__name__,
            "budget": budget,
            "env_steps": int(model.num_timesteps),
            "seed": seed,
            "wall_s": wall,
            "env": env_cfg.name,
        }
    )
    tmp = out / f".transfer.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    tmp.replace(out / "transfer.json")
    print_table(result, title=f"fresh learner on {algo}'s frozen reward, {env_cfg.name} (seed {seed})")
    print(f"written: {out / 'transfer.json'}")
    return result


def _reward_name(algo: str) -> str:
    return {"airl": "AIRL's unshaped g(s, a)", "gail": "GAIL's -log(1 - D(s, a))"}.get(algo, f"{algo}'s learned reward")


def _job(cfg: Any, overrides: list[str]) -> dict[str, Any]:
    tcfg = TransferConfig(learner=cfg.learner, budget=cfg.budget, seed=cfg.seed)
    return transfer_run(
        Path(cfg.run).expanduser().resolve(), tcfg, progress_bar=cfg.progress, torch_threads=cfg.torch_threads
    )


COMMAND = HydraCommand(
    prog="python -m irlkit.transfer",
    config_name="transfer",
    usage="python -m irlkit.transfer run=<run folder> [budget=N] [learner=auto|sac|dqn|ppo] [seed=N]",
    description="Reward transfer: train a fresh learner on a finished run's frozen learned reward (AIRL's g, GAIL's "
    "-log(1 - D), preference's model) and score it on the env's true reward.",
    footer="Writes transfer/transfer.json (the evaluation, as eval.json) and transfer/policy.zip into the run folder. "
    "Defaults: the run's budget, seed and learner settings (algo.sac / algo.dqn / algo.ppo).",
    run=_job,
)


def main() -> None:
    COMMAND.main()


if __name__ == "__main__":
    main()
