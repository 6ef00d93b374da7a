"""DAgger (Ross et al. 2011): the learner drives, an expert labels the states it visits.

Who labels is the `expert` group, built above the algorithms and handed down in `RunContext.human`:
`expert=sb3` hands down an SB3 policy (shipped, cached or trained by `irlkit.experts`), which
imitation's `SimpleDAggerTrainer` asks at every visited state; `expert=human` hands down a
`Corrector` (a person, or the scripted stand-in, in the corrections window), and the run is
HG-DAgger (`irlkit.algos.hg_dagger`)."""

from __future__ import annotations

from imitation.algorithms import bc
from imitation.algorithms.dagger import LinearBetaSchedule, SimpleDAggerTrainer
from stable_baselines3.common.policies import BasePolicy

from irlkit.algos.base import Progress, RunContext, Trainer, mlp_policy
from irlkit.algos.configs import DAggerConfig


class DAggerTrainer(Trainer):
    budget_unit = "env_steps"

    def __init__(self, cfg: DAggerConfig, ctx: RunContext, expert: BasePolicy):
        import datasets

        datasets.disable_progress_bars()  # DAgger saves each round through HF datasets

        self._cfg = cfg
        bc_trainer = bc.BC(
            observation_space=ctx.observation_space,
            action_space=ctx.action_space,
            rng=ctx.rng,
            policy=mlp_policy(ctx.observation_space, ctx.action_space, cfg.net_arch),
            batch_size=cfg.batch_size,
            optimizer_kwargs={"lr": cfg.learning_rate},
            ent_weight=cfg.ent_weight,
            device="cpu",
            custom_logger=ctx.logger,
        )
        initial = ctx.demos.to_trajectories() if cfg.use_demos else None
        self._initial_steps = sum(len(t) for t in initial) if initial else 0
        self._dagger = SimpleDAggerTrainer(
            venv=ctx.venv,
            scratch_dir=ctx.run_dir / "dagger",
            expert_policy=expert,
            rng=ctx.rng,
            expert_trajs=initial,
            bc_trainer=bc_trainer,
            beta_schedule=LinearBetaSchedule(cfg.beta_rampdown_rounds),
            custom_logger=ctx.logger,
        )
        self._steps = 0

    def train(self, budget: int, progress: Progress) -> None:
        # One round per call of imitation's train(): it stops once a round reaches round_steps.
        while self._steps < budget:
            before = self._labelled_steps()
            self._dagger.train(
                total_timesteps=self._cfg.round_steps,
                rollout_round_min_timesteps=self._cfg.round_steps,
                rollout_round_min_episodes=1,
                bc_train_kwargs={"n_epochs": self._cfg.bc_epochs_per_round, "log_rollouts_venv": None, "progress_bar": False},
            )
            done = self._labelled_steps() - before
            self._steps += done
            progress(done)

    def _labelled_steps(self) -> int:
        """Expert-labelled steps gathered so far (the dataset's own demos not counted).

        imitation's train() loads every round's demos (the dataset's as round 0) before retraining,
        so `_all_demos` is current after each call; before the first call it is still empty."""
        loaded = sum(len(t) for t in self._dagger._all_demos)
        return loaded - self._initial_steps if loaded else 0

    @property
    def policy(self):
        return self._dagger.policy

    @property
    def env_steps(self) -> int:
        return self._steps


def build(cfg: DAggerConfig, ctx: RunContext) -> Trainer:
    if ctx.human is None:
        raise ValueError("algo=dagger needs who labels its states in RunContext.human (irlkit.train builds it from "
                         "the `expert` group: an SB3 policy for expert=sb3, a Corrector for expert=human)")
    if ctx.expert is not None and ctx.expert.kind == "human":
        from irlkit.algos.hg_dagger import HGDAggerTrainer

        return HGDAggerTrainer(cfg, ctx, corrector=ctx.human, settings=ctx.expert)
    return DAggerTrainer(cfg, ctx, expert=ctx.human)
