"""Every algorithm's typed config, in one light module.

Hydra's schemas, `--help` and config errors need only these dataclasses, so they live apart from
the builders (which import torch, imitation and scikit-learn) and a mistyped key fails in a
fraction of a second. Names follow the papers and SB3 where they exist.
"""

from __future__ import annotations

import dataclasses
from typing import Optional


@dataclasses.dataclass
class PPOConfig:
    """The PPO learner used as generator (GAIL, AIRL), preference learner and density RL agent.

    Names follow SB3 (and the PPO paper, Schulman et al. 2017)."""

    learning_rate: float = 3e-4
    n_steps: int = 2048
    """Steps per env per rollout."""
    batch_size: int = 64
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [64, 64])
    normalize_advantage: bool = True
    anneal_lr: bool = False
    """Decay the learning rate linearly to zero over the run's budget. SB3's own schedules cannot
    do this here: the adversarial loop calls `learn()` once per round, restarting their clock."""
    anneal_start: float = 0.0
    """Fraction of the budget spent at the full learning rate before the decay begins."""


@dataclasses.dataclass
class BCConfig:
    """Behavior cloning (Pomerleau 1991): supervised learning of the demonstrator's actions."""

    name: str = "bc"
    budget: int = 1000
    """Gradient batches."""
    batch_size: int = 32
    """Demonstration transitions per gradient batch."""
    learning_rate: float = 1e-3
    """Adam learning rate of the policy."""
    ent_weight: float = 1e-3
    """Weight of the policy-entropy bonus in the loss (imitation's `ent_weight`)."""
    l2_weight: float = 0.0
    """Weight of the L2 penalty on the policy's weights."""
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32])
    """Hidden layers of the policy MLP."""


@dataclasses.dataclass
class DAggerConfig:
    """DAgger (Ross et al. 2011): the learner drives, an expert (SB3 or a person) labels what it visits."""

    name: str = "dagger"
    budget: int = 10_000
    """Environment steps collected across all rounds."""
    round_steps: int = 2000
    """Minimum env steps per round (each round relabels, then retrains BC on everything so far)."""
    beta_rampdown_rounds: int = 5
    """Rounds over which control moves from expert to learner (linear schedule)."""
    bc_epochs_per_round: int = 4
    """Behavior-cloning epochs over every label so far, after each round."""
    use_demos: bool = True
    """Start from the dataset's demonstrations as round 0."""
    batch_size: int = 32
    """Labelled transitions per BC gradient batch."""
    learning_rate: float = 1e-3
    """Adam learning rate of the policy."""
    ent_weight: float = 1e-3
    """Weight of the policy-entropy bonus in the BC loss."""
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32])
    """Hidden layers of the policy MLP."""
    expert_seed: int = 0
    """Seed of the SB3 expert trained (or looked up in the cache) when none is shipped for the env."""


@dataclasses.dataclass
class AdversarialConfig:
    name: str = "gail"
    budget: int = 300_000
    """Environment steps of the generator."""
    demo_batch_size: int = 1024
    """Expert transitions per discriminator batch (the batch is twice this: half generator)."""
    n_disc_updates_per_round: int = 4
    gen_replay_buffer_capacity: Optional[int] = None
    """Generator samples kept for the discriminator; None = one round's worth."""
    disc_lr: float = 1e-3
    reward_net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32])
    potential_net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32])
    """AIRL only: the shaping potential's hidden layers."""
    bc_warmstart_batches: int = 0
    """Behavior-clone the generator on the demos for this many batches before adversarial training
    (0 = start from a random policy). Shortens training; the reward is still learned adversarially."""
    reward_use_action: bool = True
    """Let the learned reward depend on the action; AIRL's paper recommends a state-only reward
    g(s), which also cannot collapse onto one action."""
    normalize_input: bool = True
    """Running normalisation of the discriminator's inputs (imitation's RunningNorm)."""
    normalize_reward: bool = True
    """Running normalisation of the reward the generator sees (as imitation's scripts default to);
    the discriminator still trains on the raw logits."""
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)


@dataclasses.dataclass
class DensityConfig:
    """Density-based reward: log-density of the demos' pairs under a kernel density estimate, then PPO."""

    name: str = "density"
    budget: int = 100_000
    """Environment steps of the PPO learner."""
    density_type: str = "state_action"
    """state, state_action or state_state (which pairs the density is estimated over)."""
    kernel: str = "gaussian"
    """scikit-learn KernelDensity kernel (gaussian, tophat, epanechnikov, exponential, linear, cosine)."""
    kernel_bandwidth: float = 0.5
    """Kernel bandwidth, in standardised units when `standardise_inputs`."""
    standardise_inputs: bool = True
    """Scale each input dimension to zero mean and unit variance before the density estimate."""
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    """The PPO learner trained on the density reward."""


@dataclasses.dataclass
class FeedbackConfig:
    """Who answers the preference queries (the top-level `feedback` config group).

    Each kind of annotator has its own schema with `kind` first; this one is the synthetic one."""

    kind: str = "synthetic"
    """synthetic (from the env's reward), or another registered gatherer (human, dataset)."""
    noise: float = 0.1
    """Synthetic annotator's Boltzmann temperature as a fraction of the spread of fragment returns
    in the first batch, so one number means the same noise on every env (imitation issue #821);
    0 gives a perfectly rational annotator."""


@dataclasses.dataclass
class PreferenceConfig:
    name: str = "preference"
    budget: int = 100_000
    """Environment steps of the PPO learner."""
    total_comparisons: int = 500
    num_iterations: int = 10
    fragment_length: int = 50
    transition_oversampling: float = 1.0
    initial_comparison_frac: float = 0.1
    initial_epoch_multiplier: float = 4.0
    exploration_frac: float = 0.05
    reward_epochs: int = 3
    reward_lr: float = 1e-3
    reward_use_action: bool = True
    """Let the reward model see the action; a state-only model generalises better from few labels."""
    reward_net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32])
    query_schedule: str = "hyperbolic"
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)


@dataclasses.dataclass
class MCEIRLConfig:
    """Maximum causal entropy IRL (Ziebart et al. 2010) on a tabular MDP."""

    name: str = "mce_irl"
    budget: int = 200
    """Gradient iterations of the reward (each runs soft value iteration over the whole MDP)."""
    learning_rate: float = 0.05
    """Adam learning rate of the reward."""
    discount: float = 1.0
    """Discount factor of the soft value iteration (1.0: the finite horizon undiscounted)."""
    linf_eps: float = 1e-3
    """Stop early once the occupancy measures of policy and demos differ by less than this (L-infinity)."""
    reward_net_arch: list[int] = dataclasses.field(default_factory=list)
    """Hidden layers of the state reward; [] is a linear (tabular) reward."""


@dataclasses.dataclass
class PPOTrainConfig:
    """Plain RL on the env's reward (`algo=ppo`); with `feedback=shaping` the reward is shaped live
    by a person's (or a rule's) good/bad feedback (TAMER, irlkit.shaping)."""

    name: str = "ppo"
    budget: int = 100_000
    """Environment steps of the PPO learner."""
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    """The PPO learner's hyperparameters."""
