"""Behavior cloning (Pomerleau 1991): supervised learning of the demonstrator's actions."""

from __future__ import annotations

from imitation.algorithms import bc

from irlkit.algos.base import Progress, RunContext, Trainer, mlp_policy
from irlkit.algos.checkpoint import Checkpoint
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
        self._batches = 0

    def train(self, budget: int, progress: Progress) -> None:
        def batch_done() -> None:
            self._batches += 1
            progress(1)

        self._bc.train(
            n_batches=budget,
            on_batch_end=batch_done,
            log_interval=self._log_interval,
            log_rollouts_venv=None,
            progress_bar=False,
        )

    def checkpoint(self) -> Checkpoint:
        # imitation's BC steps its optimizer before calling on_batch_end: here the weights and the
        # optimizer are those after the batch just counted.
        return Checkpoint(
            tensors={"policy": self._bc.policy.state_dict(), "optimizer": self._bc.optimizer.state_dict()},
            meta={"batches": self._batches},
        )

    def restore(self, ckpt: Checkpoint) -> None:
        self._bc.policy.load_state_dict(ckpt.tensors["policy"])
        self._bc.optimizer.load_state_dict(ckpt.tensors["optimizer"])
        self._batches = int(ckpt.meta["batches"])

    @property
    def policy(self):
        return self._bc.policy


def build(cfg: BCConfig, ctx: RunContext) -> BCTrainer:
    return BCTrainer(cfg, ctx)
