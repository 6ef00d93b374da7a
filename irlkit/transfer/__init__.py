"""Reward transfer: train a fresh learner on a frozen learned reward.

AIRL's claim (Fu et al. 2018) is that its unshaped reward g(s, a) is the task, not a trick that got
one generator to imitate: a learner that never saw the demos should reach the demos' return by
maximising it. `python -m irlkit.transfer run=DIR` (`__main__.py`) tests that for any
run that learned a reward (AIRL's g, GAIL's -log(1 - D), preference's reward model): it rebuilds
the reward the evaluator scores, freezes it, trains a fresh learner on it alone with
`train_on_frozen_reward` below, and evaluates the result on the env's true reward.

Rewards trained with absorbing states keep them: terminal transitions get the frozen reward's
absorbing-state value, as in training. The frozen reward is running-normalised for the learner
(a scale and an offset, which an infinite-horizon objective with absorbing states is unaffected by).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

from irlkit.algos.configs import DQNConfig, PPOConfig, SACConfig
from irlkit.envs import EnvConfig

if TYPE_CHECKING:
    from imitation.rewards.reward_nets import RewardNet


@dataclasses.dataclass
class TransferConfig:
    """What `python -m irlkit.transfer` trains on a frozen reward."""

    learner: str = "auto"
    """auto (SAC for Box actions, DQN for Discrete), sac, dqn or ppo."""
    budget: Optional[int] = None
    """Env steps of the fresh learner (default: the run's own budget)."""
    seed: Optional[int] = None
    """Seed of the fresh learner (default: the run's seed; evaluation seeds stay the run's)."""


def normalized_reward_fn(reward: RewardNet) -> Any:
    """The frozen reward, running-normalised, as a numpy RewardFn on the reward net's own inputs."""
    from imitation.rewards.reward_nets import NormalizedRewardNet
    from imitation.util import networks

    from irlkit.algos.discriminator import reward_fn_of

    net = NormalizedRewardNet(reward, networks.RunningNorm)
    net.eval()
    return reward_fn_of(net)


def train_on_frozen_reward(
    reward: Any,
    env_cfg: EnvConfig,
    *,
    learner: str,
    budget: int,
    seed: int,
    sac: Optional[SACConfig] = None,
    dqn: Optional[DQNConfig] = None,
    ppo: Optional[PPOConfig] = None,
    progress: Callable[[int], None] = lambda n: None,
) -> Any:
    """A fresh SB3 learner trained for `budget` env steps on `reward` alone (never the env's);
    `learner` is auto, sac, dqn or ppo. `reward` is what the algorithm's `load_eval_reward` gives: an
    imitation `RewardNet`, or preference's `EnvSpaceReward` over a net trained with absorbing states.
    Returns the SB3 model."""
    from irlkit.algos.discriminator import PaddedObsRewardNet
    from irlkit.algos.learners import check_budget, make_learner, resolve_learner
    from irlkit.algos.offpolicy import OffPolicyTrainer
    from irlkit.algos.preference.rewards import EnvSpaceReward
    from irlkit.algos.relabel import AbsorbingStates

    # A reward trained with absorbing states is scored through a wrapper on the env's own
    # transitions; the learner needs the net on the padded observations underneath it.
    padded: Optional[RewardNet] = None
    if isinstance(reward, PaddedObsRewardNet):
        padded = reward.base
    elif isinstance(reward, EnvSpaceReward):
        padded = reward.model
    net = padded if padded is not None else cast("RewardNet", reward)
    net.eval()
    kind = resolve_learner(learner, net.action_space, algo="transfer")
    if kind == "ppo":
        return _train_ppo(ppo or PPOConfig(), env_cfg, reward, budget, seed, progress)
    lcfg = (sac or SACConfig()) if kind == "sac" else (dqn or DQNConfig())
    check_budget(kind, lcfg, budget, algo="transfer")
    trainer = OffPolicyTrainer()
    venv = trainer.make_venv(_Ctx(env_cfg, seed))
    model = make_learner(kind, lcfg, venv, seed=seed, budget=budget)
    if padded is not None:  # trained with absorbing states: keep them
        absorbing = AbsorbingStates(venv.observation_space, venv.action_space, lcfg.gamma)
        model.replay_buffer.reward_fn = absorbing.learner_reward_fn(normalized_reward_fn(padded))
    else:
        model.replay_buffer.reward_fn = normalized_reward_fn(net)
    trainer.rl = model
    trainer.train(budget, progress)
    return model


def _train_ppo(
    cfg: PPOConfig, env_cfg: EnvConfig, reward: Any, budget: int, seed: int, progress: Callable[[int], None]
) -> Any:
    from imitation.rewards.reward_wrapper import RewardVecEnvWrapper

    from irlkit.algos.base import make_ppo
    from irlkit.algos.preference.rewards import EnvSpaceReward
    from irlkit.envs import make_venv

    if isinstance(reward, EnvSpaceReward):  # padded inputs underneath: normalise the net, keep the padding
        reward_fn: Any = EnvSpaceReward(reward.model, reward.absorbing, fn=normalized_reward_fn(reward.model))
    else:
        reward_fn = normalized_reward_fn(reward)
    venv = make_venv(env_cfg, seed=seed)
    model = make_ppo(cfg, RewardVecEnvWrapper(venv, reward_fn), seed=seed)
    try:
        model.learn(total_timesteps=budget)
    finally:
        venv.close()
    progress(int(model.num_timesteps))
    return model


@dataclasses.dataclass
class _Ctx:
    """The two fields of a RunContext that `OffPolicyTrainer.make_venv` reads."""

    env_cfg: EnvConfig
    seed: int
