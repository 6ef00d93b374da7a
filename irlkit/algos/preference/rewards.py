"""The reward side of preference learning: an ensemble of reward nets, its training on labelled
pairs, and the rewards the RL learner sees (PEBBLE: Lee et al. 2021, "PEBBLE: Feedback-Efficient
Interactive Reinforcement Learning via Relabeling Experience and Unsupervised Pre-training").

- The ensemble (imitation's `RewardEnsemble` of `BasicRewardNet`s) gives the learner its mean and
  the query selection its members' disagreement. Every member trains on every label, each with its
  own initialisation and batch order (PEBBLE; imitation's bagging would leave each member without
  a third of the few labels there are).
- Training is PEBBLE's, `epochs` passes over all labels per update (without PEBBLE's stop at 97%
  training accuracy: `PreferenceConfig.reward_epochs` says why). The Bradley-Terry loss is imitation's
  `CrossEntropyRewardLoss`, computed here for whole batches at once: imitation's `PreferenceModel`
  flattens and scores one pair at a time, 0.27 s per epoch over 500 pairs of 50 steps for one
  member on this machine; PEBBLE's training runs up to hundreds of epochs per update.
- The learner's reward is the ensemble mean standardised by its mean and standard deviation over
  the transitions collected so far, refreshed after each update: the learner then sees rewards of
  one scale whatever the labels taught the nets, and one that changes only when the model does.
- Before the first labels the learner explores (PEBBLE's unsupervised pre-training): its reward is
  the distance from each next state to its k-th nearest neighbour among the states visited so
  far, a particle estimate of state entropy (Liu & Abbeel 2021, APT), over observations scaled to
  unit variance per dimension so no coordinate drowns the others.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Sequence, cast

import numpy as np
import torch as th
import torch.nn.functional as F
from imitation.algorithms import preference_comparisons as pc
from imitation.rewards.reward_nets import BasicRewardNet, RewardEnsemble, RewardNet
from imitation.util import networks

from irlkit.algos.preference.queries import fragment_arrays


class FittedNorm(networks.BaseNorm):
    """Input scaling fitted to the bulk of the states the learner has visited, robust to the far
    ones: centre = median, scale = interquartile range / 1.349 (the standard deviation of a normal
    law; 1 for a feature that barely varies, such as the absorbing indicator), and the scaled
    value z then squashed by symlog, sign(z) log(1 + |z|) (DreamerV3, Hafner et al. 2023), which
    keeps every state apart in order but shrinks the far ones.

    imitation's `RunningNorm` (mean and variance of everything the net has trained on) let seals
    CartPole's state-entropy pre-training, which pushes the cart to |x| = 260, set the cart
    position's scale to 78: the out-of-bounds edge at |x| = 2.4 was then 0.03 units from the
    centre, the reward model grew linearly in x, and the learner balanced the pole while drifting
    off the track. Clipping z instead of squashing it failed the other way: a learner that stands
    still on MountainCarContinuous makes the bulk one point, and every state on the way to the
    flag was clipped to the same value (BENCHMARKS.md, preference section). The buffers are
    `RunningNorm`'s, so saved reward nets load either way; `fit` sets them, training does not."""

    def update_stats(self, batch: th.Tensor) -> None:
        """Training does not move the scaling: `fit` sets it."""

    def forward(self, x: th.Tensor) -> th.Tensor:
        z = (x - self.running_mean) / th.sqrt(self.running_var + self.eps)
        return th.sign(z) * th.log1p(z.abs())

    @th.no_grad()
    def fit(self, x: th.Tensor) -> None:
        """Set the centre and scale from a sample of inputs, shape (n, features)."""
        q = th.quantile(x.double(), th.tensor([0.25, 0.5, 0.75], dtype=th.float64), dim=0)
        scale = (q[2] - q[0]) / 1.349
        scale = th.where(scale > 1e-6, scale, th.ones_like(scale))
        self.running_mean.copy_(q[1].to(self.running_mean.dtype))
        self.running_var.copy_((scale**2).to(self.running_var.dtype))
        self.count.fill_(len(x))


def fit_input_norms(model: RewardNet, sample: tuple[np.ndarray, ...]) -> None:
    """Fit every member's `FittedNorm` to `sample` = (obs, acts, next_obs, dones) in the model's
    input space (at most 10,000 rows are used: quantiles of more add nothing)."""
    obs, acts, next_obs, dones = (np.asarray(x)[:10_000] for x in sample)
    for net in reward_members(model):
        norm = getattr(getattr(net, "mlp", None), "normalize_input", None)
        if not isinstance(norm, FittedNorm):
            continue
        state, action, next_state, done = net.preprocess(obs, acts, next_obs, dones)
        inputs = []
        if net.use_state:
            inputs.append(th.flatten(state, 1))
        if net.use_action:
            inputs.append(th.flatten(action, 1))
        if net.use_next_state:
            inputs.append(th.flatten(next_state, 1))
        if net.use_done:
            inputs.append(th.reshape(done, [-1, 1]))
        norm.fit(th.cat(inputs, dim=1))


def make_reward_model(
    observation_space: Any,
    action_space: Any,
    *,
    hid_sizes: Sequence[int],
    use_action: bool,
    members: int,
    use_next_state: bool = False,
) -> RewardNet:
    """One `BasicRewardNet` (members=1) or an imitation `RewardEnsemble` of `members` of them."""

    def one() -> BasicRewardNet:
        return BasicRewardNet(
            observation_space,
            action_space,
            hid_sizes=tuple(hid_sizes),
            normalize_input_layer=FittedNorm,
            use_action=use_action,
            use_next_state=use_next_state,
        )

    if members == 1:
        return one()
    return RewardEnsemble(observation_space, action_space, members=[one() for _ in range(members)])


def reward_members(model: RewardNet) -> list[RewardNet]:
    return cast("list[RewardNet]", list(model.members)) if isinstance(model, RewardEnsemble) else [model]


@dataclasses.dataclass
class RewardTrainingResult:
    loss: float
    accuracy: float
    epochs: int


class PreferenceRewardTrainer:
    """Trains each member of the reward model on all labelled pairs (see the module docstring).

    :param model: the reward net or ensemble.
    :param lr: AdamW step size (one optimizer per member, kept across updates).
    :param batch_size: pairs per gradient step.
    """

    def __init__(
        self,
        model: RewardNet,
        *,
        lr: float,
        batch_size: int,
        rng: np.random.Generator,
        prepare: Optional[Callable[[Any], Any]] = None,
        random_label_share: float = 0.0,
    ):
        self.random_label_share = random_label_share
        """The share of labels the likelihood takes for coin flips (Christiano et al. 2017: 0.1);
        `label_schedule` refuses a value outside [0, 1) with the config's name."""
        self.members = reward_members(model)
        self.prepare = prepare
        """Maps each labelled fragment to the reward model's input space (absorbing states)."""
        self.optimizers = [th.optim.AdamW(m.parameters(), lr=lr) for m in self.members]
        self.batch_size = batch_size
        self.rng = rng

    def train(self, dataset: pc.PreferenceDataset, epochs: int) -> RewardTrainingResult:
        """`epochs` passes of every member over every labelled pair; the last pass's loss and
        accuracy (on pairs with a strict preference), averaged over members."""
        if len(dataset) == 0:
            raise ValueError("no labelled pairs to train on")
        first, second, prefs = _dataset_tensors(self.members[0], dataset, self.prepare)
        n = len(prefs)
        strict = prefs != 0.5
        losses, accs = [], []
        for net, opt in zip(self.members, self.optimizers):
            net.train()
            loss_sum, acc = 0.0, 0.0
            for _ in range(max(1, epochs)):
                order = th.as_tensor(self.rng.permutation(n))
                loss_sum, right, counted = 0.0, 0, 0
                for start in range(0, n, self.batch_size):
                    idx = order[start : start + self.batch_size]
                    logits = _returns(net, first, idx) - _returns(net, second, idx)
                    loss = preference_loss(logits, prefs[idx], self.random_label_share)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    loss_sum += float(loss.detach()) * len(idx)
                    s = strict[idx]
                    right += int(((logits[s] > 0) == (prefs[idx][s] > 0.5)).sum())
                    counted += int(s.sum())
                acc = right / counted if counted else 1.0
            net.eval()
            losses.append(loss_sum / n)
            accs.append(acc)
        return RewardTrainingResult(float(np.mean(losses)), float(np.mean(accs)), max(1, epochs))


def preference_loss(logits: th.Tensor, prefs: th.Tensor, random_label_share: float = 0.0) -> th.Tensor:
    """Bradley-Terry cross-entropy of the labels `prefs` (1: the first fragment preferred) given the
    return differences `logits`. With `random_label_share` = e the model says a label is a coin flip with
    probability e, P(first) = e/2 + (1 - e) sigmoid(logit): a wrong label then costs at most
    -log(e/2) instead of growing with the margin the other labels taught, so a few of them cannot
    bend the reward (Christiano et al. 2017 assume 10% random answers)."""
    if random_label_share <= 0.0:
        return F.binary_cross_entropy_with_logits(logits, prefs)
    flip = th.log(th.tensor(random_label_share / 2, dtype=logits.dtype))
    keep = th.log(th.tensor(1.0 - random_label_share, dtype=logits.dtype))
    log_first = th.logaddexp(flip, keep + F.logsigmoid(logits))
    log_second = th.logaddexp(flip, keep + F.logsigmoid(-logits))
    return -(prefs * log_first + (1.0 - prefs) * log_second).mean()


def _dataset_tensors(
    net: RewardNet, dataset: pc.PreferenceDataset, prepare: Optional[Callable[[Any], Any]]
) -> tuple[dict, dict, th.Tensor]:
    def side(fragments: Sequence[Any]) -> dict:
        obs, acts, next_obs = fragment_arrays([prepare(f) for f in fragments] if prepare else fragments)
        n, length = acts.shape[:2]
        flat = lambda x: x.reshape(n * length, *x.shape[2:])  # noqa: E731
        state, action, next_state, done = net.preprocess(
            flat(obs), flat(acts), flat(next_obs), np.zeros(n * length, bool)
        )
        return {
            "state": state.reshape(n, length, -1),
            "action": action.reshape(n, length, -1),
            "next_state": next_state.reshape(n, length, -1),
            "done": done.reshape(n, length),
        }

    prefs = th.as_tensor(np.asarray(dataset.preferences, dtype=np.float32))
    return side(dataset.fragments1), side(dataset.fragments2), prefs


def _returns(net: RewardNet, side: dict, idx: th.Tensor) -> th.Tensor:
    b, length = len(idx), side["state"].shape[1]
    flat = lambda k: side[k][idx].reshape(b * length, *side[k].shape[2:])  # noqa: E731
    rews = net(flat("state"), flat("action"), flat("next_state"), flat("done"))
    return rews.reshape(b, length).sum(dim=1)


class LearnerReward:
    """What the RL learner is trained on: a `RewardFn` (numpy in and out, irlkit.algos.relabel's
    contract) whose source changes as training proceeds: zero, the state-entropy bonus
    (pre-training), then the learned reward.

    `learned` is the reward model's mean prediction, standardised with `set_learned`'s statistics.
    With `absorbing` (envs whose episodes can terminate) the model's inputs carry DAC's absorbing
    indicator, and a terminal transition's reward includes the absorbing state's whole future
    (`AbsorbingStates.learner_reward_fn`), so ending an episode is worth what the labels say."""

    def __init__(self, absorbing: Optional[Any] = None, *, closed_form: bool = True) -> None:
        self.mode = "zero"
        self.absorbing = absorbing
        self._model: Optional[RewardNet] = None
        self._mean, self._std = 0.0, 1.0
        self.entropy: Optional[StateEntropyBonus] = None
        if absorbing is None:
            self._on_env: Callable[..., np.ndarray] = self.standardised
        elif closed_form:  # off-policy learners: `dones` are terminations (SB3 keeps time limits apart)
            self._on_env = absorbing.learner_reward_fn(self.standardised)
        else:  # PPO: its dones merge time limits, so no continuation value; the inputs are still padded
            self._on_env = lambda o, a, n, d: self.standardised(absorbing.pad(o), a, absorbing.pad(n), np.zeros(len(o)))

    def set_learned(self, model: RewardNet, sample: Optional[tuple[np.ndarray, ...]]) -> tuple[float, float]:
        """Switch to (or refresh) the learned reward; `sample` = (obs, acts, next_obs, dones) of
        transitions seen so far in the model's input space, to standardise over. Returns the
        (mean, std) used."""
        self._model = model
        self.mode = "learned"
        if sample is not None and len(sample[0]) > 1:
            raw = np.asarray(model.predict(*sample), dtype=np.float64)
            self._mean, self._std = float(raw.mean()), float(raw.std()) or 1.0
        return self._mean, self._std

    def standardised(self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """The learned reward on the model's own inputs (padded when there are absorbing states)."""
        assert self._model is not None
        raw = np.asarray(self._model.predict(obs, acts, next_obs, dones), dtype=np.float64)
        return (raw - self._mean) / self._std

    def __call__(self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, dones: np.ndarray) -> np.ndarray:
        if self.mode == "learned":
            return self._on_env(obs, acts, next_obs, dones)
        if self.mode == "entropy":
            assert self.entropy is not None
            return self.entropy(next_obs)
        return np.zeros(len(obs), dtype=np.float32)


class EnvSpaceReward:
    """The learned reward on the env's own transitions, for scoring it against the true reward:
    observations get the absorbing indicator 0, and a terminal transition leads to the absorbing
    state (irlkit.evaluate calls it with (obs, acts, next_obs, dones))."""

    def __init__(self, model: RewardNet, absorbing: Any, fn: Optional[Callable[..., np.ndarray]] = None):
        """`fn` (default: `model.predict`) computes the reward on the padded inputs: a normalised
        view of the same model, say, when a learner trains on it (irlkit.transfer)."""
        self.model, self.absorbing = model, absorbing
        self._fn = fn if fn is not None else model.predict

    def __call__(self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, dones: np.ndarray) -> np.ndarray:
        terminal = np.asarray(dones).reshape(-1) > 0.5
        padded_next = self.absorbing.pad(next_obs)
        padded_next[terminal] = self.absorbing.absorbing(int(terminal.sum()))
        return np.asarray(self._fn(self.absorbing.pad(obs), acts, padded_next, np.zeros(len(obs))))


class StateEntropyBonus:
    """PEBBLE's intrinsic reward for unsupervised pre-training: the distance from each state to its
    k-th nearest neighbour among (a sample of) the states visited so far, in observation units
    scaled to unit variance, divided by a running standard deviation of those distances.

    :param states: the growing array of visited states (`StatePool`).
    :param k: which neighbour (PEBBLE: 5).
    :param max_reference: compare against at most this many visited states (a random sample).
    """

    def __init__(self, states: "StatePool", *, k: int = 5, max_reference: int = 2_000, rng: np.random.Generator):
        from stable_baselines3.common.running_mean_std import RunningMeanStd

        self.states = states
        self.k = k
        self.max_reference = max_reference
        self.rng = rng
        self._stats = RunningMeanStd(shape=())

    def state(self) -> dict[str, Any]:
        """JSON state: the running std of the distances and the reference sampler's RNG."""
        return {
            "mean": float(self._stats.mean),
            "var": float(self._stats.var),
            "count": float(self._stats.count),
            "rng": self.rng.bit_generator.state,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self._stats.mean = np.asarray(state["mean"], dtype=np.float64)
        self._stats.var = np.asarray(state["var"], dtype=np.float64)
        self._stats.count = float(state["count"])
        self.rng.bit_generator.state = state["rng"]

    @th.no_grad()
    def __call__(self, next_obs: np.ndarray) -> np.ndarray:
        ref = self.states.array()
        if len(ref) <= self.k:
            return np.zeros(len(next_obs), dtype=np.float32)
        if len(ref) > self.max_reference:
            ref = ref[self.rng.integers(0, len(ref), self.max_reference)]
        scale = ref.std(axis=0) + 1e-6
        x = th.as_tensor(np.asarray(next_obs, dtype=np.float32).reshape(len(next_obs), -1) / scale.reshape(1, -1))
        r = th.as_tensor(ref.reshape(len(ref), -1) / scale.reshape(1, -1), dtype=th.float32)
        dist = th.cdist(x, r)
        k = min(self.k + 1, dist.shape[1])  # the state itself may be among the references
        knn = th.topk(dist, k, dim=1, largest=False).values[:, -1].numpy().astype(np.float64)  # 7x kthvalue's speed
        self._stats.update(knn)
        return (knn / (np.sqrt(self._stats.var) + 1e-8)).astype(np.float32)


class StatePool:
    """Every observation the learner has produced so far, as one growing array (amortised appends)."""

    def __init__(self) -> None:
        self._data: Optional[np.ndarray] = None
        self._n = 0

    def add(self, obs: np.ndarray) -> None:
        obs = np.asarray(obs, dtype=np.float32)
        obs = obs.reshape(len(obs), -1)
        if self._data is None:
            self._data = np.empty((max(1024, 2 * len(obs)), obs.shape[1]), dtype=np.float32)
        while self._n + len(obs) > len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self._n : self._n + len(obs)] = obs
        self._n += len(obs)

    def __len__(self) -> int:
        return self._n

    def array(self) -> np.ndarray:
        return self._data[: self._n] if self._data is not None else np.zeros((0, 0), np.float32)

    def load(self, states: np.ndarray) -> None:
        """Replace the pool's contents with `states` (a checkpoint's `array()`)."""
        self._data, self._n = None, 0
        if len(states):
            self.add(states)
