"""Behavior cloning (Pomerleau 1991): supervised learning of the demonstrator's actions."""

from __future__ import annotations

from imitation.algorithms import bc

from irlkit.algos.base import Progress, RunContext, Trainer, mlp_policy
from irlkit.algos.configs import BCConfig


class BCTrainer(Trainer):
    budget_unit = "batches"

    def __init__(self, cfg: BCConfig, ctx: RunContext):
        self._bc = bc.BC(
            observation_space=ctx.observation_space,
            action_space=ctx.action_space,
            rng=ctx.rng,
            policy=mlp_policy(ctx.observation_space, ctx.action_space, cfg.net_arch),
            demonstrations=ctx.demos.to_transitions(),
            batch_size=cfg.batch_size,
            optimizer_kwargs={"lr": cfg.learning_rate},
            ent_weight=cfg.ent_weight,
            l2_weight=cfg.l2_weight,
            device="cpu",
            custom_logger=ctx.logger,
        )
        # imitation's BC logs (and evaluates rollouts) every `log_interval` batches; keep it cheap.
        self._log_interval = 500

    def train(self, budget: int, progress: Progress) -> None:
        self._bc.train(
            n_batches=budget,
            on_batch_end=lambda: progress(1),
            log_interval=self._log_interval,
            log_rollouts_venv=None,
            progress_bar=False,
        )

    @property
    def policy(self):
        return self._bc.policy


def build(cfg: BCConfig, ctx: RunContext) -> BCTrainer:
    return BCTrainer(cfg, ctx)
