"""Replay buffers whose rewards come from a reward that is still being learned.

Adversarial imitation off-policy (DAC: Kostrikov et al. 2019, "Discriminator-Actor-Critic"), SQIL
(Reddy et al. 2020) and off-policy preference learning (PEBBLE: Lee et al. 2021) all train an SB3
off-policy learner (SAC, DQN) on a reward that is not the env's. A reward written into the replay
buffer when a transition is stored goes stale at the next reward update, so here it is never
stored: `RelabelingReplayBuffer` recomputes it from a settable `reward_fn` for every batch the
learner samples (PEBBLE's "relabel the buffer after each reward update", without the pass over the
whole buffer). SB3 lacks only this glue; everything else is SB3's `ReplayBuffer`.

Episodes that end by termination (not by a time limit) get DAC's absorbing state: `AbsorbingStates`
adds an indicator feature to the reward's input, turns each terminal transition s -> s_T into
s -> s_abs, adds the self-loop s_abs -> s_abs, and gives the learner the absorbing state's value in
closed form (it loops on one reward forever: r_abs / (1 - gamma)), so the learner's own networks
keep the env's observation space. Without it, a reward that is positive everywhere pays for
surviving, one that is negative pays for dying (the bias DAC names), and imitation's
`allow_variable_horizon` lets episode length itself leak into what is learned.

Contract of a `RewardFn`: numpy in, numpy out, one reward per row:
`reward_fn(obs, acts, next_obs, dones) -> rewards` with `obs`, `next_obs` of shape (n, *obs_shape),
`acts` in the env's own units (Box actions unscaled from SB3's [-1, 1] storage, shape (n, *shape);
Discrete actions as integers of shape (n,)), `dones` of shape (n,): 1.0 where the episode
*terminated* there (time-limit truncations are 0: SB3 keeps them apart); the result has shape (n,),
any float dtype. It is called for every gradient step of the learner, so it should be cheap, and it
must not train anything itself.

Works on SB3 2.2.1 and >= 2.7 alike (2.7 added `ReplayBufferSamples.discounts`; samples are
changed with the NamedTuple's `_replace`, never rebuilt field by field).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from irlkit.errors import IrlkitError

RewardFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""`(obs, acts, next_obs, dones) -> rewards`, numpy in and out (see the module docstring)."""


class TransitionBatch(NamedTuple):
    """Transitions as numpy arrays, actions in the env's units, `dones` = terminated (0/1 floats)."""

    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    dones: np.ndarray

    @staticmethod
    def concatenate(parts: list["TransitionBatch"]) -> "TransitionBatch":
        return TransitionBatch(*(np.concatenate([getattr(p, f) for p in parts]) for f in TransitionBatch._fields))


def transitions_of(dataset: Any, action_space: Optional[spaces.Space] = None) -> TransitionBatch:
    """A demos-store dataset's transitions with `dones` = terminated only (an episode cut by a time
    limit did not end the MDP). Box actions are clipped to `action_space`'s bounds when given: a
    learner's own actions never leave them, so out-of-bounds demo actions would give the demos away."""
    t = dataset.to_transitions(terminal="terminated")
    acts = np.asarray(t.acts)
    if isinstance(action_space, spaces.Box):
        acts = np.clip(acts, action_space.low, action_space.high).astype(np.float32)
    return TransitionBatch(
        np.asarray(t.obs, dtype=np.float32),
        acts,
        np.asarray(t.next_obs, dtype=np.float32),
        np.asarray(t.dones, dtype=np.float32),
    )


def scale_actions(action_space: spaces.Space, acts: np.ndarray) -> np.ndarray:
    """Env units -> SB3's replay storage: Box actions to [-1, 1] (clipped), others unchanged."""
    if isinstance(action_space, spaces.Box):
        low, high = action_space.low, action_space.high
        return np.clip(2.0 * ((acts - low) / (high - low)) - 1.0, -1.0, 1.0).astype(np.float32)
    return acts


def unscale_actions(action_space: spaces.Space, acts: np.ndarray) -> np.ndarray:
    """SB3's replay storage -> env units: Box actions from [-1, 1], Discrete actions as integers."""
    if isinstance(action_space, spaces.Box):
        low, high = action_space.low, action_space.high
        return (low + 0.5 * (acts + 1.0) * (high - low)).astype(np.float32)
    if isinstance(action_space, spaces.Discrete):
        return acts.reshape(len(acts)).astype(np.int64)
    return acts


class RelabelingReplayBuffer(ReplayBuffer):
    """An SB3 `ReplayBuffer` whose sampled rewards are `reward_fn`'s, computed at sampling time.

    Install with `replay_buffer_class=RelabelingReplayBuffer` (SAC, DQN, ...), then set
    `model.replay_buffer.reward_fn = fn` (never through `replay_buffer_kwargs`: SB3 saves those
    with the model). With `reward_fn` None the env's stored reward is returned, as SB3 does.

    `actions_scaled` says how the algorithm stores Box actions: SB3's off-policy algorithms store
    them scaled to [-1, 1]; `reward_fn` always receives them in the env's units.
    """

    def __init__(self, *args: Any, actions_scaled: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actions_scaled = actions_scaled
        self.reward_fn: Optional[RewardFn] = None

    # ---- what SB3 calls ---------------------------------------------------------------------
    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> ReplayBufferSamples:
        samples = super()._get_samples(batch_inds, env)
        if self.reward_fn is None:
            return samples
        return self._relabel(samples, self.reward_fn)

    # ---- what irlkit's algorithms call ------------------------------------------------------
    def samples_at(self, batch_inds: np.ndarray) -> ReplayBufferSamples:
        """The relabelled samples at these buffer rows (env 0): the same rows, the current reward."""
        _check_one_env(self)
        return self._get_samples(np.asarray(batch_inds), None)

    def valid_rows(self, recent: Optional[int] = None) -> np.ndarray:
        """Row indices holding transitions, oldest first; only the last `recent` when given."""
        n = self.buffer_size if self.full else self.pos
        rows = (np.arange(n) + (self.pos if self.full else 0)) % self.buffer_size
        return rows[-recent:] if recent else rows

    def transitions_at(self, batch_inds: np.ndarray) -> TransitionBatch:
        """The stored transitions at these rows (env 0) as numpy, actions in env units."""
        _check_one_env(self)
        inds = np.asarray(batch_inds)
        if self.optimize_memory_usage:
            next_obs = self.observations[(inds + 1) % self.buffer_size, 0]
        else:
            next_obs = self.next_observations[inds, 0]
        acts = self.actions[inds, 0]
        if self.actions_scaled:
            acts = unscale_actions(self.action_space, acts)
        dones = (self.dones[inds, 0] * (1 - self.timeouts[inds, 0])).astype(np.float32)
        return TransitionBatch(self.observations[inds, 0], acts, next_obs, dones)

    def sample_transitions(self, n: int, *, recent: Optional[int] = None) -> TransitionBatch:
        """`n` stored transitions drawn uniformly (from the last `recent` only, when given)."""
        rows = self.valid_rows(recent)
        if len(rows) == 0:
            raise ValueError("the replay buffer is empty")
        return self.transitions_at(rows[np.random.randint(0, len(rows), size=n)])

    def _relabel(self, samples: ReplayBufferSamples, reward_fn: RewardFn) -> ReplayBufferSamples:
        acts = samples.actions.cpu().numpy()
        if self.actions_scaled:
            acts = unscale_actions(self.action_space, acts)
        elif isinstance(self.action_space, spaces.Discrete):
            acts = acts.reshape(len(acts)).astype(np.int64)
        rewards = reward_fn(
            samples.observations.cpu().numpy(),
            acts,
            samples.next_observations.cpu().numpy(),
            samples.dones.cpu().numpy().reshape(-1),
        )
        rewards = np.asarray(rewards, dtype=np.float32).reshape(-1, 1)
        return samples._replace(rewards=self.to_torch(rewards))


class DemoMixReplayBuffer(RelabelingReplayBuffer):
    """Every sampled batch is a fixed share of demonstrations, the rest the learner's own replay.

    SQIL (Reddy et al. 2020) trains on 50/50 batches of demo transitions (reward 1) and the
    learner's (reward 0); each part gets its own reward function. Set the demos with `set_demos`
    before training; `demo_reward_fn` (a `RewardFn`) labels the demo part.
    """

    def __init__(self, *args: Any, demo_fraction: float = 0.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not 0.0 < demo_fraction < 1.0:
            raise IrlkitError(
                f"demo_fraction={demo_fraction}: the demos' share of each batch must lie strictly between 0 and 1"
            )
        self.demo_fraction = demo_fraction
        self.demo_reward_fn: Optional[RewardFn] = None
        self._demos: Optional[TransitionBatch] = None

    def set_demos(self, demos: TransitionBatch) -> None:
        """The demo transitions, actions in env units (stored as the learner stores its own)."""
        acts = scale_actions(self.action_space, demos.acts) if self.actions_scaled else demos.acts
        acts = np.asarray(acts).reshape(len(acts), self.action_dim)
        self._demos = TransitionBatch(
            np.asarray(demos.obs, dtype=self.observations.dtype),
            acts.astype(self.actions.dtype),
            np.asarray(demos.next_obs, dtype=self.observations.dtype),
            np.asarray(demos.dones, dtype=np.float32),
        )

    def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
        if self._demos is None or self.demo_reward_fn is None:
            raise RuntimeError("DemoMixReplayBuffer.sample before set_demos/demo_reward_fn")
        n_demo = int(round(batch_size * self.demo_fraction))
        own = super().sample(batch_size - n_demo, env)
        inds = np.random.randint(0, len(self._demos.obs), size=n_demo)
        demo = own._replace(
            observations=self.to_torch(self._demos.obs[inds]),
            actions=self.to_torch(self._demos.acts[inds]),
            next_observations=self.to_torch(self._demos.next_obs[inds]),
            dones=self.to_torch(self._demos.dones[inds].reshape(-1, 1)),
            rewards=self.to_torch(np.zeros((n_demo, 1), dtype=np.float32)),
        )
        if getattr(own, "discounts", None) is not None:  # SB3 >= 2.7's n-step buffers only
            raise RuntimeError("n-step replay is not supported with demonstrations")
        demo = self._relabel(demo, self.demo_reward_fn)
        # fields SB3 leaves None (n-step discounts) stay None, the typed fields are all tensors
        return own.__class__(*(None if a is None else th.cat([a, d]) for a, d in zip(own, demo)))  # type: ignore[arg-type, list-item, unused-ignore]  # SB3 2.2 has no discounts field


def _check_one_env(buffer: ReplayBuffer) -> None:
    if buffer.n_envs != 1:
        raise ValueError("row access needs a one-env buffer (irlkit's off-policy learners run one env: exact budgets)")


class AbsorbingStates:
    """DAC's absorbing state (Kostrikov et al. 2019) for episodes that end by termination.

    The reward model's input gains one indicator feature: 0 for every real observation, 1 for the
    absorbing state (whose other features are 0). `expand` turns transitions as the env gives
    them into what the reward model trains on; `learner_reward_fn` gives the learner a reward on
    the env's own transitions whose terminal rows carry the absorbing state's whole future value,
    so with `done = 1` on those rows the learner's Bellman target is exactly DAC's.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, gamma: float) -> None:
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
            raise IrlkitError(
                f"off-policy reward learning needs flat Box observations (a vector); this env has "
                f"{observation_space}. Use algo.learner=ppo for other observation spaces."
            )
        if not 0.0 <= gamma < 1.0:
            raise IrlkitError(
                f"gamma={gamma}: absorbing states need a discount below 1 (their value is r / (1 - gamma))"
            )
        self.raw_space = observation_space
        self.action_space = action_space
        self.gamma = gamma
        low = np.append(observation_space.low, 0.0).astype(np.float32)
        high = np.append(observation_space.high, 1.0).astype(np.float32)
        self.space = spaces.Box(low=low, high=high, dtype=np.float32)
        """The reward model's observation space: the env's plus the indicator."""

    def pad(self, obs: np.ndarray) -> np.ndarray:
        """Real observations with indicator 0."""
        return np.concatenate([np.asarray(obs, dtype=np.float32), np.zeros((len(obs), 1), np.float32)], axis=1)

    def absorbing(self, n: int) -> np.ndarray:
        """`n` copies of the absorbing state (zeros, indicator 1)."""
        out = np.zeros((n, self.space.shape[0]), dtype=np.float32)
        out[:, -1] = 1.0
        return out

    def absorbing_actions(self, n: int) -> np.ndarray:
        """The action recorded in the absorbing state (DAC: zeros; action 0 for Discrete)."""
        if isinstance(self.action_space, spaces.Box):
            return np.zeros((n, *self.action_space.shape), dtype=np.float32)
        return np.zeros(n, dtype=np.int64)

    def expand(self, batch: TransitionBatch) -> tuple[TransitionBatch, np.ndarray]:
        """What the reward model sees: every terminal s -> s_T becomes s -> s_abs (done 0), and one
        self-loop s_abs -> s_abs follows each. Returns the padded batch and a mask of the added
        self-loop rows (a policy takes no decision there: AIRL gives them log pi = 0)."""
        terminal = np.asarray(batch.dones) > 0.5
        n_abs = int(terminal.sum())
        n = len(batch.obs)
        next_obs = self.pad(batch.next_obs)
        next_obs[terminal] = self.absorbing(n_abs)
        acts = np.asarray(batch.acts)
        expanded = TransitionBatch(
            np.concatenate([self.pad(batch.obs), self.absorbing(n_abs)]),
            np.concatenate([acts, self.absorbing_actions(n_abs).reshape((n_abs, *acts.shape[1:])).astype(acts.dtype)]),
            np.concatenate([next_obs, self.absorbing(n_abs)]),
            np.zeros(n + n_abs, dtype=np.float32),
        )
        return expanded, np.concatenate([np.zeros(n, bool), np.ones(n_abs, bool)])

    def learner_reward_fn(self, padded_reward_fn: RewardFn) -> RewardFn:
        """A `RewardFn` on the env's transitions from one on the padded ones (the reward model's):
        r(s, a, s') for ordinary rows; r(s, a, s_abs) + gamma / (1 - gamma) * r(s_abs, a0, s_abs)
        where the episode terminated, so the learner's target there needs no bootstrap."""

        def reward(obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, dones: np.ndarray) -> np.ndarray:
            terminal = np.asarray(dones).reshape(-1) > 0.5
            n = len(obs)
            padded_next = self.pad(next_obs)
            padded_next[terminal] = self.absorbing(int(terminal.sum()))
            if terminal.any():  # one more row, the self-loop, in the same call
                acts = np.asarray(acts)
                a0 = self.absorbing_actions(1).reshape((1, *acts.shape[1:])).astype(acts.dtype)
                r_all = padded_reward_fn(
                    np.concatenate([self.pad(obs), self.absorbing(1)]),
                    np.concatenate([acts, a0]),
                    np.concatenate([padded_next, self.absorbing(1)]),
                    np.zeros(n + 1, np.float32),
                )
                r_all = np.asarray(r_all, dtype=np.float64).reshape(-1)
                return r_all[:n] + terminal * (self.gamma / (1.0 - self.gamma)) * r_all[n]
            return np.asarray(
                padded_reward_fn(self.pad(obs), acts, padded_next, np.zeros(n, np.float32)), dtype=np.float64
            ).reshape(-1)

        return reward


__all__ = [
    "AbsorbingStates",
    "DemoMixReplayBuffer",
    "RelabelingReplayBuffer",
    "RewardFn",
    "TransitionBatch",
    "scale_actions",
    "transitions_of",
    "unscale_actions",
]
