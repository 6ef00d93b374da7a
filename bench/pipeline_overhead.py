"""irlkit's training loop against a plain imitation script with the same hyperparameters.

Same PPO, reward net, demo batch and discriminator settings (the CartPole config). Two things
irlkit adds are left out of the plain script because they cost no measurable time or would
measure something else: the learning-rate decay (a float set once per round) and, for AIRL, the
BC warm start (switched off in the irlkit run too, `bc_warmstart_batches=0`).

Both run in this one process, alternating (plain, irlkit, plain, irlkit, ...), on the same
seeds, so machine load hits both alike. The plain script is what a user would write from
imitation's docs: make_vec_env, PPO, a reward net, GAIL(...).train(budget). irlkit's run is
`irlkit.train.run_training` with the learning curve switched off (it is an extra irlkit
measures on purpose), timing the training phase of both.

    .venv/bin/python bench/pipeline_overhead.py [--algo gail] [--budget 100000] [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch as th

warnings.filterwarnings("ignore")


def plain_imitation(algo: str, budget: int, seed: int, cfg) -> float:
    """The training phase of a hand-written imitation script."""
    import seals  # noqa: F401  (registers seals/CartPole-v0)
    from imitation.algorithms.adversarial.airl import AIRL
    from imitation.algorithms.adversarial.gail import GAIL
    from imitation.data.wrappers import RolloutInfoWrapper
    from imitation.util import logger as imit_logger
    from imitation.util.util import make_vec_env
    from stable_baselines3 import PPO

    from irlkit.algos.adversarial import make_reward_net
    from irlkit.store import DemoStore

    th.manual_seed(seed)
    np.random.seed(seed)
    rng = np.random.default_rng(seed)
    venv = make_vec_env("seals/CartPole-v0", rng=rng, n_envs=8, post_wrappers=[lambda e, _: RolloutInfoWrapper(e)])
    demos = DemoStore().open("cartpole_expert").to_transitions()
    p = cfg.ppo
    learner = PPO(
        "MlpPolicy",
        venv,
        learning_rate=p.learning_rate,
        n_steps=p.n_steps,
        batch_size=p.batch_size,
        n_epochs=p.n_epochs,
        gamma=p.gamma,
        gae_lambda=p.gae_lambda,
        clip_range=p.clip_range,
        ent_coef=p.ent_coef,
        vf_coef=p.vf_coef,
        max_grad_norm=p.max_grad_norm,
        policy_kwargs={"net_arch": list(p.net_arch)},
        seed=seed,
        device="cpu",
    )
    reward_net = make_reward_net(cfg, algo, venv.observation_space, venv.action_space)
    cls = AIRL if algo == "airl" else GAIL
    with tempfile.TemporaryDirectory() as tmp:
        # The same log outputs irlkit writes (CSV and TensorBoard), not imitation's stdout tables.
        logger = imit_logger.configure(folder=tmp, format_strs=["csv", "tensorboard"])
        trainer = cls(
            demonstrations=demos,
            demo_batch_size=cfg.demo_batch_size,
            venv=venv,
            gen_algo=learner,
            reward_net=reward_net,
            n_disc_updates_per_round=cfg.n_disc_updates_per_round,
            disc_opt_kwargs={"lr": cfg.disc_lr},
            log_dir=tmp,
            custom_logger=logger,
        )
        t0 = time.time()
        trainer.train(budget)
        return time.time() - t0


def irlkit_run(algo: str, budget: int, seed: int, cfg) -> float:
    from irlkit.evaluate import EvalConfig
    from irlkit.runconfig import RunConfig
    from irlkit.train import run_training

    with tempfile.TemporaryDirectory() as tmp:
        result = run_training(
            RunConfig(algo=cfg, seed=seed, eval=EvalConfig(episodes=1, curve_points=0), progress=False), Path(tmp)
        )
    return float(result["wall_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", default="gail", choices=["gail", "airl"])
    parser.add_argument("--budget", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    from irlkit.cli.app import config_dir
    from irlkit.cli.overrides import compose
    from irlkit.cli.runconfig import run_config
    from irlkit.cli.schemas import register_schemas

    register_schemas()
    overrides = [f"algo={args.algo}", f"algo.budget={args.budget}", "algo.bc_warmstart_batches=0"]
    cfg = run_config(compose(config_dir(), "config", overrides), overrides).algo
    th.set_num_threads(1)
    plain, ours = [], []
    for rep in range(args.reps):
        plain.append(plain_imitation(args.algo, args.budget, rep, cfg))
        ours.append(irlkit_run(args.algo, args.budget, rep, cfg))
        print(f"rep {rep}: plain imitation {plain[-1]:.1f} s, irlkit {ours[-1]:.1f} s", flush=True)
    ratio = statistics.median(ours) / statistics.median(plain)
    print(
        f"{args.algo} on seals/CartPole-v0, {args.budget} steps, {args.reps} reps: median plain "
        f"{statistics.median(plain):.1f} s, irlkit {statistics.median(ours):.1f} s, ratio {ratio:.3f}"
    )


if __name__ == "__main__":
    main()
