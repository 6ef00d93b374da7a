"""B-Pref's simulated teachers and the query selection, on constructed fragments and ensembles.

Every statistic is checked against what the teacher's definition implies, with tolerances of a few
binomial standard deviations at the sample sizes used (fixed seeds), so a teacher that ignores its
parameter fails."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from imitation.data.types import TrajectoryWithRew

from irlkit.algos.configs import FeedbackConfig
from irlkit.algos.preference.queries import InformativeFragmenter, member_fragment_returns, pair_scores
from irlkit.algos.preference.teachers import TEACHERS, SimulatedTeacher, make_teacher, teacher_params
from irlkit.errors import IrlkitError

L = 10


def frag(rews, obs=None) -> TrajectoryWithRew:
    rews = np.asarray(rews, dtype=np.float32)
    n = len(rews)
    obs = np.zeros((n + 1, 2), np.float32) if obs is None else np.asarray(obs, np.float32)
    return TrajectoryWithRew(obs=obs, acts=np.zeros(n, np.int64), infos=None, terminal=False, rews=rews)


def teacher(name: str, seed: int = 0, **kw) -> SimulatedTeacher:
    return SimulatedTeacher(teacher_params(name, **kw), rng=np.random.default_rng(seed))


def random_rewards(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, L)), rng.random((n, L))


def test_oracle_prefers_the_higher_return_and_ties_are_half():
    t = teacher("oracle")
    labels = t([(frag([1] * L), frag([0] * L)), (frag([0] * L), frag([1] * L)), (frag([0.5] * L), frag([0.5] * L))])
    assert list(labels) == [1.0, 0.0, 0.5]
    assert labels.dtype == np.float32


def test_mistake_teacher_flips_about_epsilon_of_the_labels():
    r1, r2 = random_rewards(20_000)
    truth = (r1.sum(1) > r2.sum(1)).astype(float)
    labels = teacher("mistake").label(r1, r2)
    flipped = float(np.mean(labels != truth))
    sd = math.sqrt(0.1 * 0.9 / len(truth))
    assert abs(flipped - 0.1) < 4 * sd, flipped
    assert abs(float(np.mean(teacher("mistake", epsilon=0.3).label(r1, r2) != truth)) - 0.3) < 0.02


def test_stochastic_teacher_follows_bradley_terry_in_per_step_units():
    # Every pair differs by the same return gap; the range of returns seen is set by one extreme pair.
    n = 20_000
    r1 = np.full((n, L), 0.52)
    r2 = np.full((n, L), 0.50)
    r1[0], r2[0] = 1.0, 0.0  # returns seen span 0..L, so the per-step range is 1
    t = teacher("stochastic")  # beta = 1
    labels = t.label(r1, r2)[1:]
    expected = 1 / (1 + math.exp(-1.0 * (0.02 * L) / 1.0))  # sigmoid(beta * gap / per-step range)
    assert abs(float(labels.mean()) - expected) < 4 * math.sqrt(expected * (1 - expected) / n)
    # the older spelling: temperature = noise * spread  <=>  beta = 1 / (noise * L)
    old = make_teacher(FeedbackConfig(noise=0.1), L, np.random.default_rng(0))
    assert old.params.beta == pytest.approx(1 / (0.1 * L))


def test_skip_teacher_skips_pairs_whose_better_fragment_is_in_the_bottom_share():
    t = teacher("skip")  # skip = 0.1
    low, high = frag([0.0] * L), frag([1.0] * L)  # returns 0 and 10: the range seen is 10
    bad_a, bad_b = frag([0.05] * L), frag([0.09] * L)  # returns 0.5 and 0.9: both under 0 + 0.1 * 10
    good = frag([0.2] * L)  # return 2
    labels = t([(low, high), (bad_a, bad_b), (bad_a, good)])
    assert labels[0] == 0.0 and math.isnan(labels[1]) and labels[2] == 0.0
    assert t.skipped == 1 and t.asked == 3
    r1, r2 = random_rewards(5000)
    labels = teacher("skip", skip=0.3).label(r1, r2)
    ret1, ret2 = r1.sum(1), r2.sum(1)
    lo, hi = min(ret1.min(), ret2.min()), max(ret1.max(), ret2.max())
    np.testing.assert_array_equal(np.isnan(labels), np.maximum(ret1, ret2) < lo + 0.3 * (hi - lo))


def test_equal_teacher_answers_half_when_returns_are_close():
    r1, r2 = random_rewards(5000)
    labels = teacher("equal").label(r1, r2)
    ret1, ret2 = r1.sum(1), r2.sum(1)
    spread = max(ret1.max(), ret2.max()) - min(ret1.min(), ret2.min())
    close = np.abs(ret1 - ret2) < 0.1 * spread
    assert close.any() and (~close).any()
    np.testing.assert_array_equal(labels == 0.5, close)
    np.testing.assert_array_equal(labels[~close], (ret1 > ret2)[~close].astype(np.float32))


def test_myopic_teacher_weighs_the_late_steps():
    early = [1.0] * 5 + [0.0] * 5  # return 5, all of it early
    late = [0.0] * 6 + [1.0] * 4  # return 4, all of it late
    pair = [(frag(early), frag(late))]
    assert teacher("oracle")(pair)[0] == 1.0
    assert teacher("myopic")(pair)[0] == 0.0  # gamma 0.9: 0.9^5..0.9^9 (2.2) < 1 + .9 + .81 + .73 (3.4)
    assert teacher("myopic", gamma=0.99)(pair)[0] == 1.0


def test_teacher_presets_and_refusals():
    assert set(TEACHERS) == {"oracle", "stochastic", "myopic", "mistake", "skip", "equal"}
    assert teacher_params("mistake", epsilon=0.2).epsilon == 0.2
    with pytest.raises(IrlkitError, match="not a simulated teacher"):
        teacher_params("angry")
    with pytest.raises(IrlkitError, match="feedback.epsilon=1.5"):
        teacher_params("oracle", epsilon=1.5)
    with pytest.raises(IrlkitError, match="cannot be combined"):
        make_teacher(FeedbackConfig(noise=0.1, teacher="mistake"), L, np.random.default_rng(0))


# ------------------------------------------------------------------------------------------------
# query selection
# ------------------------------------------------------------------------------------------------
class ObsReward(th.nn.Module):
    """A reward net whose reward is w * obs[0]: ensembles of these disagree exactly where we want."""

    def __init__(self, w: float):
        super().__init__()
        self.w = w
        self.observation_space = spaces.Box(-10, 10, (2,))

    def preprocess(self, state, action, next_state, done):
        return (
            th.as_tensor(state, dtype=th.float32),
            th.as_tensor(action),
            th.as_tensor(next_state),
            th.as_tensor(done),
        )

    def forward(self, state, action, next_state, done):
        return self.w * state[:, 0]


def test_pair_scores_rank_disagreement_and_entropy():
    # members agree on pair 0 (both sure), disagree on pair 1, are unsure together on pair 2
    r1 = np.array([[5.0, 5.0], [3.0, -3.0], [0.1, -0.1]])
    r2 = np.zeros_like(r1)
    dis = pair_scores(r1, r2, "disagreement")
    ent = pair_scores(r1, r2, "entropy")
    assert dis.argmax() == 1 and dis.argmin() == 0
    assert ent.argmax() == 2 and ent.argmin() == 0


def test_disagreement_selection_returns_the_most_disagreed_pairs_first():
    # Fragments whose first observation coordinate is x: members with weights +1 and -1 disagree
    # on a pair in proportion to |x1 - x2|, so the selection must return the widest gaps, widest first.
    xs = np.linspace(-1, 1, 41)
    trajs = [frag([0.0] * L, obs=np.tile([x, 0.0], (L + 1, 1))) for x in xs]
    members = [ObsReward(0.1), ObsReward(-0.1)]  # |return gaps| <= 2: no saturation
    fragmenter = InformativeFragmenter(
        "disagreement",
        rng=np.random.default_rng(0),
        candidates=20,
        member_returns=lambda fs: member_fragment_returns(members, fs),
    )
    pairs = fragmenter(trajs, L, 5)
    gaps = [abs(a.obs[0, 0] - b.obs[0, 0]) for a, b in pairs]
    assert gaps == sorted(gaps, reverse=True)
    assert fragmenter.last_scores is not None and list(fragmenter.last_scores) == sorted(
        fragmenter.last_scores, reverse=True
    )
    uniform = InformativeFragmenter("uniform", rng=np.random.default_rng(0))(trajs, L, 100)
    uniform_gaps = np.array([abs(a.obs[0, 0] - b.obs[0, 0]) for a, b in uniform])
    assert min(gaps) > np.quantile(uniform_gaps, 0.75)  # the chosen five are all in the widest quarter


def test_selection_before_the_model_is_trained_is_uniform_and_refuses_unknown_methods():
    trajs = [frag([0.0] * (3 * L))]
    f = InformativeFragmenter("entropy", rng=np.random.default_rng(0), member_returns=None)
    assert len(f(trajs, L, 7)) == 7 and f.last_scores is None
    with pytest.raises(IrlkitError, match="not a query method"):
        InformativeFragmenter("variance", rng=np.random.default_rng(0))
