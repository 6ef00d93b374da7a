"""Preference learning from few labels: PEBBLE (Lee et al. 2021, "PEBBLE: Feedback-Efficient
Interactive Reinforcement Learning via Relabeling Experience and Unsupervised Pre-training") on
the preference-comparisons recipe of Christiano et al. 2017.

One run, for a budget of env steps spent exactly and `total_comparisons` pairs asked exactly:

1. The learner explores first (`pretrain_steps`, rewarded by state entropy), so the first pairs
   already cover the state space.
2. At `num_iterations + 1` evenly spaced steps over the first `query_span` of the budget the
   annotator is asked a share of the comparisons (`query_schedule`), pairs chosen by `query`
   (uniform, or by the reward ensemble's disagreement or entropy: `queries`); the reward ensemble
   then retrains on every label so far (`rewards`): a reward of the state alone, fitted by a
   Bradley-Terry likelihood that takes a tenth of the labels for coin flips (`random_label_share`),
   so a wrong click bends it little. Until some label prefers something (all ties
   or skips so far) the learner keeps its exploration reward.
3. The learner, SAC for Box actions and DQN for Discrete ones, samples replay batches whose rewards
   are computed by the *current* reward model (`irlkit.algos.relabel`), so the whole replay buffer
   is relabelled by each update. PPO (`learner=ppo`) trains on the current model's rewards as it
   collects them.
4. The run keeps the policy the current reward model rates highest among the candidates played
   before each query and at the end (`irlkit.algos.selection.LearnedReturnSelector`).

The annotator is pluggable through imitation's seam, a `PreferenceGatherer`: a simulated B-Pref
teacher (`teachers`, for benchmarks), a person in the browser or a saved preference
dataset (`irlkit.feedback`, built above the algorithms and handed down in `RunContext.human`).
Each query's pairs reach it most informative first. A pair answered with NaN (skipped) is asked,
counted, and never trained on.

Imitation's `PreferenceComparisons` is not used for the loop: it samples its fragments with extra
env steps beyond the budget (10,000 asked -> 32,768 spent), crashes when the first query gets no
comparisons (`total_comparisons=8`), and trains only on-policy learners.

Modules: `trainer` (the loop), `schedule` (when, and how many pairs), `fragments` (where pairs
come from), `queries` (which pairs), `teachers` (B-Pref's simulated annotators), `rewards` (the
reward ensemble, its training, and what the learner is rewarded with), `selection` (which policy
the run keeps), `curve` (labels.csv), `resume` (checkpoints), `saved` (a finished run's reward
model).
"""

from irlkit.algos.preference.fragments import SkippablePreferenceDataset
from irlkit.algos.preference.saved import load_reward
from irlkit.algos.preference.schedule import QueryPlan, label_schedule, query_plan
from irlkit.algos.preference.trainer import PreferenceTrainer, build

__all__ = [
    "PreferenceTrainer",
    "QueryPlan",
    "SkippablePreferenceDataset",
    "build",
    "label_schedule",
    "load_reward",
    "query_plan",
]
