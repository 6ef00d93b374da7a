"""Density-based reward (imitation's DensityAlgorithm): reward = log-density of the demos'
state-action pairs under a kernel density estimate, then PPO on that reward."""

from __future__ import annotations

from imitation.algorithms.density import DensityAlgorithm, DensityType

from irlkit.algos.base import Progress, RLTrainer, RunContext, make_ppo
from irlkit.algos.configs import DensityConfig

_DENSITY_TYPES = {
    "state": DensityType.STATE_DENSITY,
    "state_action": DensityType.STATE_ACTION_DENSITY,
    "state_state": DensityType.STATE_STATE_DENSITY,
}


class DensityTrainer(RLTrainer):
    def __init__(self, cfg: DensityConfig, ctx: RunContext):
        from irlkit.errors import IrlkitError

        if cfg.density_type not in _DENSITY_TYPES:
            raise IrlkitError(f"algo.density_type={cfg.density_type!r}: choose one of {sorted(_DENSITY_TYPES)}")
        self.rl = make_ppo(cfg.ppo, ctx.venv, seed=ctx.seed)
        self._density = DensityAlgorithm(
            venv=ctx.venv,
            rng=ctx.rng,
            demonstrations=ctx.demos.to_trajectories(),
            density_type=_DENSITY_TYPES[cfg.density_type],
            kernel=cfg.kernel,
            kernel_bandwidth=cfg.kernel_bandwidth,
            rl_algo=self.rl,
            standardise_inputs=cfg.standardise_inputs,
            custom_logger=ctx.logger,
            allow_variable_horizon=ctx.variable_horizon,
        )
        self._density.train()  # fits the density once (deterministic: a resumed run refits it the same)
        self._chunk = cfg.ppo.n_steps * ctx.venv.num_envs
        self._steps = 0

    def train(self, budget: int, progress: Progress) -> None:
        done = 0
        while done < budget:
            before = self.rl.num_timesteps
            self._density.train_policy(min(self._chunk, budget - done))  # continues PPO's step count
            n = int(self.rl.num_timesteps - before)
            done += n
            self._steps += n
            progress(n)

    @property
    def eval_reward_net(self):
        return self._density  # a RewardFn: (obs, acts, next_obs, dones) -> rewards


def build(cfg: DensityConfig, ctx: RunContext) -> DensityTrainer:
    return DensityTrainer(cfg, ctx)
