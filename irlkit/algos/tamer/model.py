"""TAMER's model of the person's feedback, H(s, a), and its online fitter (Knox & Stone 2009).

The shaped reward is `env reward + weight * H(obs, act)`: H is a small MLP fitted by regression on
the credited labels of the watched steps, a few Adam batches every `train_every` steps, so the
shaping follows what the person says while PPO trains.
"""

from __future__ import annotations

import collections
from typing import Optional, Sequence

import numpy as np
import torch as th
from gymnasium import spaces


class FeedbackModel(th.nn.Module):
    """H(s, a): a small MLP predicting the person's feedback, on observations scaled by the space's bounds."""

    low: th.Tensor
    span: th.Tensor

    def __init__(self, observation_space: spaces.Box, action_space: spaces.Space, net_arch: Sequence[int]):
        super().__init__()
        low = np.where(np.isfinite(observation_space.low), observation_space.low, -1.0)
        high = np.where(np.isfinite(observation_space.high), observation_space.high, 1.0)
        self.register_buffer("low", th.as_tensor(low.reshape(-1), dtype=th.float32))
        self.register_buffer("span", th.as_tensor(np.maximum(high - low, 1e-8).reshape(-1), dtype=th.float32))
        self.discrete = isinstance(action_space, spaces.Discrete)
        if isinstance(action_space, spaces.Discrete):
            self.n_act = int(action_space.n)
        else:
            self.n_act = int(np.prod(action_space.shape or ()))
        layers: list[th.nn.Module] = []
        size = self.low.numel() + self.n_act
        for h in net_arch:
            layers += [th.nn.Linear(size, h), th.nn.Tanh()]
            size = h
        last = th.nn.Linear(size, 1)
        th.nn.init.zeros_(last.weight)
        th.nn.init.zeros_(last.bias)
        self.net = th.nn.Sequential(*layers, last)

    def forward(self, obs: th.Tensor, act: th.Tensor) -> th.Tensor:
        x = 2.0 * (obs.reshape(len(obs), -1).float() - self.low) / self.span - 1.0
        if self.discrete:
            a = th.nn.functional.one_hot(act.reshape(-1).long(), self.n_act).float()
        else:
            a = act.reshape(len(act), -1).float()
        return self.net(th.cat([x, a], dim=1)).squeeze(1)

    @th.no_grad()
    def predict(self, obs: np.ndarray, act: np.ndarray) -> np.ndarray:
        return self(th.as_tensor(np.asarray(obs)), th.as_tensor(np.asarray(act))).numpy()


class OnlineFitter:
    """The labelled steps (most recent `buffer_size`) and a few Adam steps on them when asked."""

    def __init__(self, model: FeedbackModel, *, lr: float, buffer_size: int, batch_size: int, seed: int):
        self.model = model
        self.opt = th.optim.Adam(model.parameters(), lr=lr)
        self.data: collections.deque[tuple[np.ndarray, np.ndarray, float]] = collections.deque(maxlen=buffer_size)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.updates = 0
        self.last_loss: Optional[float] = None

    def add(self, obs: np.ndarray, act: np.ndarray, label: float) -> None:
        self.data.append((obs, act, float(label)))

    def fit(self, batches: int) -> Optional[float]:
        if not self.data:
            return None
        for _ in range(batches):
            idx = self.rng.integers(0, len(self.data), size=min(self.batch_size, len(self.data)))
            obs = th.as_tensor(np.stack([self.data[i][0] for i in idx]))
            act = th.as_tensor(np.stack([np.asarray(self.data[i][1]) for i in idx]))
            y = th.as_tensor([self.data[i][2] for i in idx], dtype=th.float32)
            loss = th.nn.functional.mse_loss(self.model(obs, act), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.updates += 1
            self.last_loss = float(loss.detach())
        return self.last_loss
