"""GAIL (Ho & Ermon 2016) and AIRL (Fu et al. 2018): a discriminator learns a reward, an RL
learner (the generator) learns a policy against it.

`algo.learner` picks the generator: off-policy (SAC, soft DQN; the default, `auto`) runs as DAC in
`irlkit.algos.dac`; `ppo` runs imitation's own trainers here, irlkit supplying the budget loop.
"""

from __future__ import annotations

from typing import cast

from imitation.algorithms.adversarial.airl import AIRL
from imitation.algorithms.adversarial.common import AdversarialTrainer
from imitation.algorithms.adversarial.gail import GAIL, RewardNetFromDiscriminatorLogit
from imitation.rewards.reward_nets import (
    BasicRewardNet,
    BasicShapedRewardNet,
    NormalizedRewardNet,
    RewardNet,
    RewardNetWrapper,
)
from imitation.util import networks

from irlkit.algos.base import Progress, RLTrainer, RunContext, Trainer, make_ppo, set_learning_rate
from irlkit.algos.checkpoint import Checkpoint
from irlkit.algos.configs import AdversarialConfig
from irlkit.algos.learners import resolve_learner
from irlkit.errors import IrlkitError


def _decay(progress: float, start: float) -> float:
    """1 until `start`, then linearly down to 0 at the end of the budget."""
    if progress <= start:
        return 1.0
    return max(0.0, 1.0 - (progress - start) / (1.0 - start))


def make_reward_net(cfg: AdversarialConfig, kind: str, observation_space, action_space) -> RewardNet:
    """The discriminator's reward net; also used to rebuild it from a saved state dict."""
    norm = networks.RunningNorm if cfg.normalize_input else None
    net: RewardNet
    if kind == "airl":
        net = BasicShapedRewardNet(
            observation_space,
            action_space,
            reward_hid_sizes=tuple(cfg.reward_net_arch),
            potential_hid_sizes=tuple(cfg.potential_net_arch),
            discount_factor=cfg.ppo.gamma,
            normalize_input_layer=norm,
            use_action=cfg.reward_use_action,
        )
    else:
        net = BasicRewardNet(
            observation_space,
            action_space,
            hid_sizes=tuple(cfg.reward_net_arch),
            normalize_input_layer=norm,
            use_action=cfg.reward_use_action,
        )
    if cfg.normalize_reward:
        net = NormalizedRewardNet(net, networks.RunningNorm)
    return net


def reward_for_eval(kind: str, train_net: RewardNet) -> RewardNet:
    """The reward each method actually recovers: AIRL's unshaped g(s, a), GAIL's -log(1 - D)."""
    if kind == "airl":
        net = train_net
        while isinstance(net, RewardNetWrapper):  # as imitation's AIRL.reward_test does
            net = net.base
        return net
    return RewardNetFromDiscriminatorLogit(train_net)


class AdversarialIRLTrainer(RLTrainer):
    """imitation's GAIL/AIRL with a PPO generator (`algo.learner=ppo`)."""

    def __init__(self, cfg: AdversarialConfig, ctx: RunContext, kind: str):
        per_round = cfg.ppo.n_steps * ctx.venv.num_envs
        if cfg.budget < per_round:
            raise IrlkitError(
                f"algo.budget={cfg.budget} env steps is smaller than one round of {kind} with the PPO generator "
                f"({per_round} env steps: algo.ppo.n_steps={cfg.ppo.n_steps} x env.n_envs={ctx.venv.num_envs}): raise "
                "algo.budget, or lower algo.ppo.n_steps."
            )
        reward_net = make_reward_net(cfg, kind, ctx.observation_space, ctx.action_space)
        cls: type[AdversarialTrainer] = AIRL if kind == "airl" else GAIL
        self.rl = make_ppo(cfg.ppo, ctx.venv, seed=ctx.seed)
        demos = ctx.demos.to_transitions()
        if cfg.bc_warmstart_batches > 0:
            from imitation.algorithms import bc
            from stable_baselines3.common.policies import ActorCriticPolicy

            bc.BC(
                observation_space=ctx.observation_space,
                action_space=ctx.action_space,
                rng=ctx.rng,
                policy=cast(ActorCriticPolicy, self.rl.policy),  # make_ppo's PPO
                demonstrations=demos,
                batch_size=64,
                optimizer_kwargs={"lr": 1e-3},
                device="cpu",
                custom_logger=ctx.logger,
            ).train(n_batches=cfg.bc_warmstart_batches, log_interval=10**9, progress_bar=False)
        self._adv = cls(
            demonstrations=demos,
            demo_batch_size=cfg.demo_batch_size,
            venv=ctx.venv,
            gen_algo=self.rl,
            reward_net=reward_net,
            n_disc_updates_per_round=cfg.n_disc_updates_per_round,
            gen_replay_buffer_capacity=cfg.gen_replay_buffer_capacity,
            disc_opt_kwargs={"lr": cfg.disc_lr},
            custom_logger=ctx.logger,
            log_dir=str(ctx.run_dir / "logs"),
            allow_variable_horizon=ctx.variable_horizon,
        )
        self._steps = 0
        self._kind = kind
        self._cfg = cfg

    def train(self, budget: int, progress: Progress) -> None:
        # imitation's own train() runs the same rounds behind its own tqdm bar; running them here
        # lets one progress bar count env steps for every algorithm.
        per_round = self._adv.gen_train_timesteps
        n_rounds = max(1, budget // per_round)
        done = self._steps // per_round  # rounds before a resume: the schedule continues where it was
        for r in range(done, done + n_rounds):
            if self._cfg.ppo.anneal_lr:
                set_learning_rate(
                    self.rl, self._cfg.ppo.learning_rate * _decay(r / (done + n_rounds), self._cfg.ppo.anneal_start)
                )
            self._adv.train_gen(per_round)
            for _ in range(self._adv.n_disc_updates_per_round):
                with networks.training(self._adv.reward_train):
                    self._adv.train_disc()
            self._adv.logger.dump(self._adv._global_step)
            self._steps += per_round
            progress(per_round)

    def checkpoint(self) -> Checkpoint:
        """The generator (RLTrainer's), the discriminator with its optimizer and the generator samples
        it draws from. Not restored exactly: the order of imitation's endless demo iterator and the
        env's episode in progress (a resumed run starts fresh episodes)."""
        ckpt = super().checkpoint()
        assert ckpt is not None
        adv = self._adv
        ckpt.tensors["adv/reward_train"] = adv.reward_train.state_dict()
        ckpt.tensors["adv/disc_opt"] = adv._disc_opt.state_dict()
        buf = adv._gen_replay_buffer._buffer
        for key, array in buf._arrays.items():
            if array.dtype != object:  # `infos` (dicts) are not saved: the discriminator never reads them
                ckpt.arrays[f"adv.gen_buffer.{key}"] = array[: buf._n_data]
        ckpt.meta["adv"] = {
            "global_step": adv._global_step,
            "disc_step": adv._disc_step,
            "buffer_n": buf._n_data,
            "buffer_idx": buf._idx,
        }
        return ckpt

    def restore(self, ckpt: Checkpoint) -> None:
        super().restore(ckpt)
        adv, meta = self._adv, ckpt.meta["adv"]
        adv.reward_train.load_state_dict(ckpt.tensors["adv/reward_train"])
        adv._disc_opt.load_state_dict(ckpt.tensors["adv/disc_opt"])
        buf = adv._gen_replay_buffer._buffer
        n = int(meta["buffer_n"])
        for key, array in buf._arrays.items():
            if array.dtype == object:
                for i in range(n):
                    array[i] = {}
            else:
                array[:n] = ckpt.arrays[f"adv.gen_buffer.{key}"]
        buf._n_data, buf._idx = n, int(meta["buffer_idx"])
        adv._global_step, adv._disc_step = int(meta["global_step"]), int(meta["disc_step"])

    @property
    def reward_net(self):
        return self._adv.reward_train

    @property
    def eval_reward_net(self):
        return reward_for_eval(self._kind, self._adv.reward_train)


def _build(cfg: AdversarialConfig, ctx: RunContext, kind: str) -> Trainer:
    learner = resolve_learner(cfg.learner, ctx.action_space, algo=kind)
    if learner == "ppo":
        if cfg.select_policy.points:
            raise IrlkitError(
                f"algo.select_policy.points={cfg.select_policy.points} keeps the policy closest to the demos for "
                f"off-policy learners only, and {kind} here runs with algo.learner=ppo: drop "
                "algo.select_policy.points, or use algo.learner=auto (SAC or DQN)."
            )
        return AdversarialIRLTrainer(cfg, ctx, kind)
    from irlkit.algos.dac import DACTrainer

    return DACTrainer(cfg, ctx, kind, learner)


def build_gail(cfg: AdversarialConfig, ctx: RunContext) -> Trainer:
    return _build(cfg, ctx, "gail")


def build_airl(cfg: AdversarialConfig, ctx: RunContext) -> Trainer:
    return _build(cfg, ctx, "airl")


def _load_reward(kind: str, cfg: AdversarialConfig, observation_space, action_space, state: dict) -> RewardNet:
    learner = resolve_learner(cfg.learner, action_space, algo=kind)
    if learner != "ppo":
        from irlkit.algos.dac import load_recovered_reward

        return load_recovered_reward(cfg, kind, learner, observation_space, action_space, state)
    net = make_reward_net(cfg, kind, observation_space, action_space)
    # the saved net is the trainer's `reward_train`: GAIL's wraps the reward net in its logit transform
    train_net = RewardNetFromDiscriminatorLogit(net) if kind == "gail" else net
    train_net.load_state_dict(state)
    return reward_for_eval(kind, train_net)


def load_gail_reward(cfg: AdversarialConfig, observation_space, action_space, state: dict) -> RewardNet:
    return _load_reward("gail", cfg, observation_space, action_space, state)


def load_airl_reward(cfg: AdversarialConfig, observation_space, action_space, state: dict) -> RewardNet:
    return _load_reward("airl", cfg, observation_space, action_space, state)
