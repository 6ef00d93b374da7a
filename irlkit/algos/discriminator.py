"""GAIL's and AIRL's discriminator, trained off-policy with absorbing states and a gradient penalty.

The discriminator classifies transitions as the demonstrator's (label 1) or the generator's (0):
GAIL's logit is a reward net's output (Ho & Ermon 2016), AIRL's is f(s, a, s') - w log pi(a|s) with f
= g(s, a) + gamma h(s') - h(s) (Fu et al. 2018) and w the learner's entropy temperature by default
(`algo.log_pi_weight`). Both use imitation's reward nets; what imitation's
`AdversarialTrainer` cannot give an off-policy generator is done here (DAC, Kostrikov et al. 2019):
the generator's transitions come from its replay buffer, terminal transitions lead to the absorbing
state (`irlkit.algos.relabel.AbsorbingStates`) on both sides, and the logit's gradient on
interpolations of demo and generator inputs is pushed towards norm 1 (the gradient penalty of
Gulrajani et al. 2017, which DAC uses), so the discriminator cannot saturate and the reward it
hands the generator stays informative.

The penalty measures the gradient per demo standard deviation of each input feature (the reward
net's input normalisation sees the same units), so a feature with a small range (MountainCar's
velocity, ~0.07) is not penalised a hundred times harder than one with a large range.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from imitation.algorithms.adversarial.gail import RewardNetFromDiscriminatorLogit
from imitation.rewards.reward_nets import (
    BasicRewardNet,
    BasicShapedRewardNet,
    NormalizedRewardNet,
    RewardEnsemble,
    RewardNet,
    RewardNetWrapper,
)
from imitation.util import networks

from irlkit.algos.configs import AdversarialConfig
from irlkit.algos.relabel import AbsorbingStates, RewardFn, TransitionBatch

LogProb = Callable[[np.ndarray, np.ndarray], th.Tensor]
"""log pi(a|s) of the generator for raw observations and env-unit actions (no gradient)."""


class PaddedObsRewardNet(RewardNet):
    """A reward net trained on absorbing-padded observations, seen from the env's own space.

    `predict(obs, acts, next_obs, dones)` on real transitions (as the evaluator calls it) adds the
    indicator feature 0, then runs `base` unchanged."""

    def __init__(self, base: RewardNet, absorbing: AbsorbingStates) -> None:
        super().__init__(absorbing.raw_space, base.action_space, base.normalize_images)
        self.base = base
        self._absorbing = absorbing

    def preprocess(self, state, action, next_state, done):
        return self.base.preprocess(self._absorbing.pad(state), action, self._absorbing.pad(next_state), done)

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, done: th.Tensor) -> th.Tensor:
        return self.base(state, action, next_state, done)


def make_discriminator_net(
    cfg: AdversarialConfig, kind: str, observation_space: spaces.Space, action_space: spaces.Space, gamma: float
) -> RewardNet:
    """The discriminator's own reward net (GAIL: the logit; AIRL: the shaped f), unnormalised."""
    norm = networks.RunningNorm if cfg.normalize_input else None
    if kind == "airl":
        return BasicShapedRewardNet(
            observation_space,
            action_space,
            reward_hid_sizes=tuple(cfg.reward_net_arch),
            potential_hid_sizes=tuple(cfg.potential_net_arch),
            discount_factor=gamma,
            normalize_input_layer=norm,
            use_action=cfg.reward_use_action,
        )
    return BasicRewardNet(
        observation_space,
        action_space,
        hid_sizes=tuple(cfg.reward_net_arch),
        normalize_input_layer=norm,
        use_action=cfg.reward_use_action,
    )


def generator_reward_net(cfg: AdversarialConfig, kind: str, disc_net: RewardNet) -> RewardNet:
    """What the generator maximises: GAIL -log(1 - D) (imitation's), AIRL f(s, a, s') (with SAC's
    entropy bonus, f - log pi: the discriminator's logit), optionally running-normalised."""
    net: RewardNet = RewardNetFromDiscriminatorLogit(disc_net) if kind == "gail" else disc_net
    if cfg.normalize_reward:
        net = NormalizedRewardNet(net, networks.RunningNorm)
    return net


def recovered_reward(kind: str, generator_net: RewardNet) -> RewardNet:
    """The reward each method recovers, for scoring and transfer: AIRL's unshaped g(s, a) (as
    imitation's `AIRL.reward_test`), GAIL's -log(1 - D); unnormalised."""
    net = generator_net
    if kind == "airl":
        while isinstance(net, RewardNetWrapper):
            net = net.base
        return net
    while isinstance(net, NormalizedRewardNet):
        net = net.base
    return net


def _feature_scale(tensors: list[th.Tensor]) -> list[th.Tensor]:
    return [t.std(dim=0).clamp_min(1e-2) if len(t) > 1 else th.ones_like(t[0]) for t in tensors]


class Discriminator:
    """Trains `net` (on padded observations) to tell demo transitions from generator ones."""

    def __init__(
        self,
        kind: str,
        net: RewardNet,
        absorbing: AbsorbingStates,
        demos: TransitionBatch,
        *,
        lr: float,
        grad_penalty: float,
        log_prob: Optional[LogProb] = None,
    ) -> None:
        if kind == "airl" and log_prob is None:
            raise ValueError("AIRL's discriminator needs the generator's log pi(a|s)")
        self.kind, self.net, self.absorbing = kind, net, absorbing
        self.grad_penalty = grad_penalty
        self._log_prob = log_prob
        self._opt = th.optim.Adam(net.parameters(), lr=lr)
        padded, _ = absorbing.expand(demos)
        s, a, ns, _ = net.preprocess(*padded)
        self._scale = _feature_scale([s, a.reshape(len(a), -1), ns])

    def logits(self, raw: TransitionBatch) -> tuple[th.Tensor, tuple[th.Tensor, ...]]:
        """Discriminator logits of the (expanded) transitions and the reward net's inputs."""
        padded, loops = self.absorbing.expand(raw)
        inputs = self.net.preprocess(*padded)
        f = self.net(*inputs)
        if self.kind == "airl":
            assert self._log_prob is not None
            log_pi = th.zeros_like(f)  # the absorbing self-loops: no decision, log pi = 0
            log_pi[~th.as_tensor(loops)] = self._log_prob(raw.obs, raw.acts).to(f.dtype)
            f = f - log_pi
        return f, inputs

    def train_step(self, expert: TransitionBatch, generator: TransitionBatch) -> dict[str, float]:
        """One Adam step on binary cross-entropy (demos 1, generator 0) plus the gradient penalty."""
        with networks.training(self.net):
            logit_e, in_e = self.logits(expert)
            logit_g, in_g = self.logits(generator)
        logits = th.cat([logit_e, logit_g])
        labels = th.cat([th.ones_like(logit_e), th.zeros_like(logit_g)])
        bce = F.binary_cross_entropy_with_logits(logits, labels)
        gp = self._gradient_penalty(in_e, in_g) if self.grad_penalty > 0 else th.zeros(())
        loss = bce + self.grad_penalty * gp
        self._opt.zero_grad()
        loss.backward()
        self._opt.step()
        with th.no_grad():
            return {
                "disc_loss": float(bce),
                "grad_penalty": float(gp),
                "disc_acc_expert": float((logit_e > 0).float().mean()),
                "disc_acc_gen": float((logit_g < 0).float().mean()),
            }

    def _gradient_penalty(self, in_e: tuple[th.Tensor, ...], in_g: tuple[th.Tensor, ...]) -> th.Tensor:
        n = min(len(in_e[0]), len(in_g[0]))
        pe, pg = th.randperm(len(in_e[0]))[:n], th.randperm(len(in_g[0]))[:n]
        eps = th.rand(n, 1)
        mixed = []
        for k in range(3):  # state, action, next state; done is 0 on every padded row
            e, g = in_e[k][pe].reshape(n, -1), in_g[k][pg].reshape(n, -1)
            mixed.append((eps * e + (1 - eps) * g).detach().requires_grad_(True))
        shapes = [in_e[k].shape[1:] for k in range(3)]
        with networks.evaluating(self.net):  # interpolations must not move the input normalisation
            f = self.net(*(m.reshape(n, *shape) for m, shape in zip(mixed, shapes)), in_e[3][pe])
        grads = th.autograd.grad(f.sum(), mixed, create_graph=True, allow_unused=True)
        per_feature = [th.zeros_like(m) if g is None else g * scale for g, m, scale in zip(grads, mixed, self._scale)]
        norm = th.cat(per_feature, dim=1).norm(dim=1)
        return ((norm - 1.0) ** 2).mean()


def reward_fn_of(net: RewardNet) -> RewardFn:
    """A numpy `RewardFn` from an imitation reward net, as its `predict_processed` computes it
    (normalised by a `NormalizedRewardNet`'s running statistics, which then take in the batch).

    Called for every gradient step of the learner, so it skips `predict_processed`'s switching of
    train/eval modes (a third of a soft-DQN step): `net` must be in eval mode, as the trainers keep
    it between the discriminator's own steps."""
    norm = net.normalize_output_layer if isinstance(net, NormalizedRewardNet) else None
    inner = net.base if isinstance(net, NormalizedRewardNet) else net

    def fn(obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, dones: np.ndarray) -> np.ndarray:
        assert not net.training, "reward nets must be in eval mode between discriminator steps"
        with th.no_grad():
            inputs = inner.preprocess(obs, acts, next_obs, dones)
            if isinstance(inner, RewardEnsemble):  # its forward is not defined: the members' mean, as its predict
                reward = th.stack([m(*inputs) for m in inner.members], dim=-1).mean(dim=-1)
            else:
                reward = inner(*inputs)
            if norm is not None:
                normalized = norm(reward)
                norm.update_stats(reward)
                reward = normalized
        return reward.cpu().numpy()

    return fn
