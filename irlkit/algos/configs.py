"""Every algorithm's typed config.

Why one module: Hydra's schemas, `--help` and config errors need only these dataclasses, so they
live together, apart from the builders (which import torch, imitation and scikit-learn), and a
mistyped key fails in a fraction of a second; the learners' configs are shared by several
algorithms' configs. Names follow the papers and SB3 where they exist.
"""

from __future__ import annotations

import dataclasses
from typing import Optional


@dataclasses.dataclass
class PPOConfig:
    """The PPO learner used as generator (GAIL, AIRL), preference learner and density RL agent.

    Names follow SB3 (and the PPO paper, Schulman et al. 2017)."""

    learning_rate: float = 3e-4
    """Adam step size of policy and value function."""
    n_steps: int = 2048
    """Steps per env per rollout."""
    batch_size: int = 64
    """Minibatch size of each gradient step."""
    n_epochs: int = 10
    """Passes over each rollout."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's lambda (bias/variance of the advantage estimate)."""
    clip_range: float = 0.2
    """PPO's clipping of the policy ratio."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus in the loss."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    max_grad_norm: float = 0.5
    """Gradient clipping norm."""
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [64, 64])
    """Hidden layers of policy and value nets."""
    normalize_advantage: bool = True
    """Normalise advantages per minibatch."""
    anneal_lr: bool = False
    """Decay the learning rate linearly to zero over the run's budget. SB3's own schedules cannot
    do this here: the adversarial loop calls `learn()` once per round, restarting their clock."""
    anneal_start: float = 0.0
    """Fraction of the budget spent at the full learning rate before the decay begins."""


@dataclasses.dataclass
class SACConfig:
    """The SAC learner (Haarnoja et al. 2018) for Box actions: GAIL/AIRL's generator (DAC,
    Kostrikov et al. 2019), SQIL's learner, and the learner trained on a transferred reward.

    Names follow SB3's `SAC`; the budget (env steps) belongs to the algorithm, not here."""

    learning_rate: float = 1e-3
    """Adam step size of actor, critics and entropy coefficient."""
    buffer_size: int = 1_000_000
    """Replay capacity in transitions (larger than every budget irlkit ships: nothing is dropped)."""
    learning_starts: int = 1000
    """Uniformly random actions for this many env steps before the first gradient step."""
    batch_size: int = 256
    """Transitions per gradient step."""
    tau: float = 0.005
    """Polyak rate of the target critics."""
    gamma: float = 0.99
    """Discount factor."""
    train_freq: int = 1
    """Env steps between training phases."""
    gradient_steps: int = 1
    """Gradient steps per training phase."""
    ent_coef: str = "auto"
    """Entropy coefficient alpha: `auto` (learned, SAC v2), `auto_<initial>`, or a number."""
    target_entropy: str = "auto"
    """Entropy target of the learned alpha: `auto` (-dim(A)) or a number."""
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [128, 128])
    """Hidden layers of the actor and of each critic."""


@dataclasses.dataclass
class DQNConfig:
    """The learner for Discrete actions: DQN (Mnih et al. 2015) with a soft Bellman backup and a
    Boltzmann policy, i.e. soft Q-learning (Haarnoja et al. 2017), the learner SQIL's paper uses.

    The soft policy pi(a|s) = softmax(Q(s, .) / ent_coef) is the one the backup evaluates, so
    AIRL's discriminator gets the generator's exact log pi(a|s); `ent_coef: 0` is plain DQN with
    epsilon-greedy exploration. Names follow SB3's `DQN`."""

    learning_rate: float = 1e-3
    """Adam step size of the Q-network."""
    buffer_size: int = 1_000_000
    """Replay capacity in transitions."""
    learning_starts: int = 1000
    """Uniformly random actions for this many env steps before the first gradient step."""
    batch_size: int = 128
    """Transitions per gradient step."""
    tau: float = 1.0
    """Polyak rate of the target network at each target update (1 = hard copy)."""
    target_update_interval: int = 500
    """Env steps between target-network updates."""
    gamma: float = 0.99
    """Discount factor."""
    train_freq: int = 1
    """Env steps between training phases."""
    gradient_steps: int = 1
    """Gradient steps per training phase."""
    ent_coef: str = "auto"
    """Temperature alpha of the soft backup and the Boltzmann policy: a number (0: hard max and
    epsilon-greedy, plain DQN), or `auto` / `auto_<initial>` (learned, as SAC's alpha)."""
    target_entropy: float = 0.5
    """`auto` ent_coef only: the policy entropy alpha is tuned to keep, as a share of log|A|."""
    exploration_fraction: float = 0.1
    """ent_coef 0 only: share of the budget over which epsilon decays from 1 to its final value."""
    exploration_final_eps: float = 0.05
    """ent_coef 0 only: final epsilon of the epsilon-greedy policy."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip."""
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [64, 64])
    """Hidden layers of the Q-network."""


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
class PolicySelectionConfig:
    """Off-policy learners: keep the policy whose own episodes' states are closest to the demos'
    (energy distance; `irlkit.algos.selection`), not merely the last one. Uses the demos only,
    never the env's reward; its episodes are env steps outside the budget, reported in eval.json."""

    points: Optional[int] = None
    """Selection points, spread evenly over the budget (every budget // points env steps, the last at
    the end); 0 = off, the last policy is kept; None = the algorithm's measured default
    (`irlkit.algos.selection.DEFAULT_POINTS`: 10 for SQIL, AIRL and GAIL)."""
    episodes: int = 3
    """Episodes the policy plays at each selection point (the same start seeds every time)."""
    deterministic: bool = True
    """Play those episodes with the policy's deterministic action, as the evaluator does by default."""
    max_steps_share: Optional[float] = 2.0
    """Cap on all selection episodes together, as a share of `algo.budget`: each is cut at the same
    length so they compare. 2.0 binds on no shipped suite cell (BENCHMARKS.md); None = uncut."""
    with_time: bool = True
    """Compare (state, step within its episode) with the demos' rather than states alone: the
    finite-horizon occupancy, which also sees when a state is reached (BENCHMARKS.md)."""
    keep_candidates: bool = False
    """Also save the policy at every selection point in the run folder as `selection/step-<N>/`
    (`irlkit.policies.load_policy` opens it), to score each afterwards (`bench/selection_rules.py`)."""


@dataclasses.dataclass
class AdversarialConfig:
    """GAIL (Ho & Ermon 2016) and AIRL (Fu et al. 2018). With an off-policy learner (the default)
    they run as DAC (Kostrikov et al. 2019): replay rewards recomputed from the current
    discriminator, absorbing states for terminated episodes, a gradient penalty; with
    `learner: ppo`, imitation's on-policy trainers."""

    name: str = "gail"
    budget: int = 50_000
    """Environment steps of the generator."""
    learner: str = "auto"
    """The generator: auto (SAC for Box actions, DQN for Discrete), sac, dqn, or ppo (imitation's
    on-policy GAIL/AIRL, with its allow_variable_horizon instead of absorbing states)."""
    demo_batch_size: int = 1024
    """Expert transitions per discriminator batch (the batch is twice this: half generator)."""
    n_disc_updates_per_round: int = 4
    """Discriminator batches per round (a round: `round_steps` env steps; with PPO one rollout)."""
    round_steps: int = 100
    """Off-policy learners: env steps between discriminator rounds."""
    grad_penalty: float = 10.0
    """Off-policy learners: weight of the discriminator's gradient penalty (Gulrajani et al. 2017,
    as DAC); 0 turns it off."""
    demo_fraction: float = 0.0
    """Off-policy learners: share of demo transitions in each of the generator's gradient batches,
    rewarded by the current discriminator like its own (demos in the replay, as in DQfD/SQIL); 0 is
    DAC as published. 0.25 moved the classic suite's failures between seeds rather than removing
    them (BENCHMARKS.md, "Demos in the generator's replay"), so it is not the default."""
    gen_replay_buffer_capacity: Optional[int] = None
    """Generator samples the discriminator draws from; None = one round's worth (PPO), the whole
    replay buffer (off-policy learners), else the most recent this many."""
    disc_lr: float = 1e-3
    """Adam step size of the discriminator."""
    reward_net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32])
    """Hidden layers of the reward net (GAIL's discriminator, AIRL's g)."""
    potential_net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32])
    """AIRL only: the shaping potential's hidden layers."""
    bc_warmstart_batches: int = 0
    """Behavior-clone the generator on the demos for this many batches before adversarial training
    (0 = start from a random policy). Shortens training; the reward is still learned adversarially."""
    reward_use_action: bool = True
    """Let the learned reward depend on the action; AIRL's paper recommends a state-only reward
    g(s), which also cannot collapse onto one action."""
    log_pi_weight: Optional[float] = None
    """AIRL, off-policy: w in the logit f - w log pi; None = the learner's entropy temperature alpha
    (its policy is soft-optimal at alpha), 1.0 = the paper's (BENCHMARKS.md, "AIRL's policy term")."""
    log_pi_floor: Optional[float] = None
    """AIRL, off-policy: lower bound on log pi(a|s) in the discriminator's logit (None: none).
    Replayed actions that the current, sharper policy would almost never take have log pi of
    -50 and below; with a fast (Polyak) DQN target they made generator samples look certain to be
    the demonstrator's, and the discriminator's loss grew from 0.4 to 1,000 within 20k steps on
    CartPole. -10 (pi = 5e-5) stops that and leaves every action a policy takes alone; with the
    default hard-copy target it is not needed (BENCHMARKS.md, "AIRL's DQN target network")."""
    normalize_input: bool = True
    """Running normalisation of the discriminator's inputs (imitation's RunningNorm)."""
    normalize_reward: bool = True
    """Running normalisation of the reward the generator sees (as imitation's scripts default to);
    the discriminator still trains on the raw logits."""
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    """The generator when `learner: ppo`."""
    sac: SACConfig = dataclasses.field(default_factory=SACConfig)
    """The generator when `learner` is sac (auto, Box actions)."""
    dqn: DQNConfig = dataclasses.field(default_factory=DQNConfig)
    """The generator when `learner` is dqn (auto, Discrete actions). Its target network is a hard
    copy every 500 steps: a Polyak target (tau 0.01 every step) reaches 0.9 sooner on CartPole
    (AIRL 10k env steps instead of 16k) but its Q-targets diverge after ~30k steps (Q-loss and
    learned temperature to 10^3-10^4, the policy falls; with alpha fixed too) on 3 of 5 AIRL and
    1 of 1 GAIL runs (BENCHMARKS.md, "AIRL's DQN target network")."""
    select_policy: PolicySelectionConfig = dataclasses.field(default_factory=PolicySelectionConfig)
    """Off-policy learners: keep the policy closest to the demos (`irlkit.algos.selection`)."""


@dataclasses.dataclass
class SQILConfig:
    """SQIL (Reddy et al. 2020): soft Q-learning on reward 1 for demo transitions and 0 for the
    learner's own, each batch half of each; episodes that terminate get absorbing states."""

    name: str = "sqil"
    budget: int = 50_000
    """Environment steps of the learner."""
    learner: str = "auto"
    """auto (SAC for Box actions, DQN for Discrete), sac or dqn."""
    demo_fraction: float = 0.5
    """Share of demo transitions in every batch (the paper's balanced batches: 0.5)."""
    sac: SACConfig = dataclasses.field(default_factory=SACConfig)
    """The learner for Box actions."""
    dqn: DQNConfig = dataclasses.field(default_factory=DQNConfig)
    """The learner for Discrete actions."""
    select_policy: PolicySelectionConfig = dataclasses.field(default_factory=PolicySelectionConfig)
    """Keep the policy whose own episodes' states are closest to the demos' (on by default:
    `irlkit.algos.selection.DEFAULT_POINTS` says why)."""


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

    Each kind of annotator has its own schema with `kind` first; this one is the synthetic one: a
    simulated teacher answering from the env's true reward, one of B-Pref's six (Lee et al. 2021,
    `irlkit.algos.preference.teachers`). A teacher is a preset of the five numbers below; setting a number
    changes just that one (`feedback.teacher=mistake feedback.epsilon=0.2`). Thresholds are
    fractions of the range of fragment returns seen so far, so one setting means the same
    teacher on every env."""

    kind: str = "synthetic"
    """synthetic (from the env's reward), or another registered gatherer (human, dataset)."""
    teacher: str = "oracle"
    """B-Pref's teacher: oracle, stochastic (beta 1), myopic (gamma 0.9), mistake (epsilon 0.1),
    skip (skip 0.1) or equal (equal 0.1)."""
    beta: Optional[float] = None
    """B-Pref's beta: rationality of a Bradley-Terry teacher, in units of the per-step reward range
    (inf: always prefers the higher return); unset: the teacher's own."""
    gamma: Optional[float] = None
    """B-Pref's gamma: myopia; step t of an L-step fragment weighs gamma^(L-1-t) (1: not myopic)."""
    epsilon: Optional[float] = None
    """B-Pref's epsilon_mistake: probability of flipping an answer."""
    skip: Optional[float] = None
    """B-Pref's epsilon_skip: no answer when both returns lie in this bottom share of the range."""
    equal: Optional[float] = None
    """B-Pref's epsilon_equal: answer "equal" (0.5) when returns differ by less than this share of the range."""
    noise: Optional[float] = None
    """The older spelling of a stochastic teacher: a Boltzmann temperature of `noise` times the
    spread of fragment returns (imitation issue #821), i.e. beta = 1 / (noise * fragment_length)."""


@dataclasses.dataclass
class PreferenceConfig:
    """Preference learning (Christiano et al. 2017) the PEBBLE way (Lee et al. 2021): an off-policy
    learner whose replay rewards always come from the current reward model, unsupervised
    exploration before the first query, and the queries chosen by a reward ensemble (B-Pref)."""

    name: str = "preference"
    budget: int = 100_000
    """Environment steps of the learner, spent exactly."""
    learner: str = "auto"
    """auto (SAC for Box actions, DQN for Discrete), sac, dqn, or ppo (on-policy, no relabelling)."""
    total_comparisons: int = 500
    """Pairs asked of the annotator over the whole run, exactly (B-Pref's max_feedback); any value >= 1."""
    num_iterations: int = 10
    """Reward updates after the first: the annotator is asked num_iterations + 1 times, at evenly
    spaced env steps from the first query on (fewer when there are fewer comparisons than that)."""
    initial_comparison_frac: float = 0.1
    """Share of total_comparisons asked at the first query (at least one pair)."""
    query_span: float = 0.5
    """Share of the env steps from the first query to the end of the budget over which the queries
    are spread; below 1 the last labels come earlier and the learner trains on without new ones
    (PEBBLE asks all its feedback early in a long run)."""
    query_schedule: str = "hyperbolic"
    """How the other comparisons spread over the later queries: constant, hyperbolic or
    inverse_quadratic (imitation's schedules; hyperbolic asks more early)."""
    query: str = "disagreement"
    """Which pairs to ask: uniform, disagreement or entropy (B-Pref's query selection). Disagreement
    by default: over the classic suite's four envs, 3 seeds, oracle teacher (BENCHMARKS.md,
    preference section) its final scores were as good or better on each env (CartPole 0.45 against
    -0.04, seals MountainCar 0.54 against 0.32, MountainCarContinuous 0.53 against 0.39, Pendulum
    1.00 both), IQM 0.71 against 0.36. It needs ensemble_size >= 2."""
    query_candidates: float = 10.0
    """disagreement and entropy: candidate pairs drawn per pair asked (B-Pref's large_batch)."""
    fragment_length: int = 50
    """Steps per fragment of a pair (B-Pref's segment size)."""
    query_episodes: int = 20
    """Draw the pairs from the learner's most recent this many episodes (PEBBLE keeps its last 100),
    so the labels judge what the policy does now, not the pre-training's far-off states; 0 = every
    episode so far."""
    pretrain_steps: int = 5000
    """Env steps of unsupervised exploration before the first query, rewarded by state entropy
    (PEBBLE's unsupervised pre-training); 0 = none (the learner's reward is 0 until then)."""
    entropy_k: int = 5
    """k of the k-nearest-neighbour state-entropy estimate of pre-training (PEBBLE: 5)."""
    ensemble_size: int = 3
    """Reward nets in the ensemble the learner's reward averages (PEBBLE: 3); disagreement and
    entropy queries need at least 2."""
    reward_epochs: int = 50
    """Passes over all labels per reward update. PEBBLE stops an update at 97% training accuracy;
    irlkit does not: with few labels the ensemble reaches it within a pass or two and stays
    underfit to the rest (the measurement is in BENCHMARKS.md, preference section)."""
    initial_epoch_multiplier: float = 4.0
    """The first update runs this many times reward_epochs (its labels come all at once)."""
    reward_batch_size: int = 64
    """Pairs per gradient step of the reward model."""
    reward_lr: float = 1e-3
    """AdamW step size of the reward model."""
    random_label_share: float = 0.1
    """Share of labels the reward model's likelihood takes for coin flips, P(first) = e/2 + (1 - e)
    sigmoid(return difference) (Christiano et al. 2017 assume 0.1): a wrong label (a person's
    slip, B-Pref's mistake teacher) then costs a bounded loss instead of bending the reward, and
    with correct labels the reward is no longer pushed to certainty on the few pairs it has.
    0: plain Bradley-Terry. 0.1 is the default since 2026-12-07 (BENCHMARKS.md, preference section)."""
    reward_use_action: Optional[bool] = False
    """Let the reward model see the action (None: for Box actions only, the default before
    2026-12-07, which configs of earlier runs still say). A state-only reward cannot charge for
    an action before it knows what the action leads to: with the action as input,
    MountainCarContinuous' reward learned the energy cost before the flag and the learner stood
    still; state-only, every seed reached the flag (BENCHMARKS.md, preference section). An env
    whose preferences hinge on the action itself needs `true`."""
    reward_net_arch: list[int] = dataclasses.field(default_factory=lambda: [64, 64])
    """Hidden layers of each reward net."""
    label_curve_episodes: int = 10
    """Evaluation episodes of the policy before each query and at the end, written to labels.csv
    (score against labels, as in B-Pref's curves); 0 = none. 10, as the final evaluation plays:
    with 5 (the default before 2026-12-08), seals MountainCar's last point and its final
    evaluation of the same policy differed by up to 0.2 normalized per seed (start positions
    decide much of its return)."""
    select_policy: PolicySelectionConfig = dataclasses.field(default_factory=PolicySelectionConfig)
    """Off-policy learners: keep the policy whose own episodes the current learned reward rates
    highest (`irlkit.algos.selection.LearnedReturnSelector`; no demos, so `with_time` is unused);
    points None = a candidate before every query, at the same spacing after the last one, and at
    the end; N = every budget // N env steps; 0 = off (the last policy)."""
    sac: SACConfig = dataclasses.field(default_factory=lambda: SACConfig(net_arch=[64, 64]))
    """The learner for Box actions (learner auto or sac)."""
    dqn: DQNConfig = dataclasses.field(default_factory=DQNConfig)
    """The learner for Discrete actions (learner auto or dqn)."""
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    """The learner with learner=ppo."""


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
