"""SB3 off-policy learners (SAC, soft DQN) made from irlkit's typed configs, on a relabelling buffer.

GAIL/AIRL (as DAC), SQIL and off-policy preference learning share these: `algo.learner` picks one
(`auto`: SAC for Box actions, DQN for Discrete; `ppo` keeps imitation's on-policy trainers where an
algorithm has them), `make_learner` builds it with `irlkit.algos.relabel`'s replay buffer on a
one-env VecEnv (so a budget of env steps is spent exactly), and `policy_log_prob` gives AIRL the
generator's log pi(a|s).

Discrete actions: AIRL's discriminator needs the generator's action probabilities, and SQIL's paper
uses soft Q-learning. A plain DQN's epsilon-greedy policy is not the policy its max-backup
evaluates, and a discrete SAC is not in SB3 or sb3-contrib; `SoftDQN` (SB3's DQN with the soft
Bellman backup of Haarnoja et al. 2017 and its Boltzmann policy softmax(Q / alpha)) is both: the
policy that acts is the one the backup evaluates, and log pi(a|s) is exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union, cast

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from irlkit.algos.configs import DQNConfig, SACConfig
from irlkit.algos.relabel import RelabelingReplayBuffer, scale_actions
from irlkit.errors import IrlkitError

LEARNERS = ("auto", "sac", "dqn", "ppo")
LearnerConfig = Union[SACConfig, DQNConfig]


def resolve_learner(
    name: str, action_space: spaces.Space, *, algo: str, allowed: tuple[str, ...] = ("sac", "dqn", "ppo")
) -> str:
    """`auto` -> `sac` for Box actions, `dqn` for Discrete; a learner that cannot act in this
    action space is refused with the fix."""
    choices = ("auto", *allowed)
    if name not in choices:
        raise IrlkitError(f"algo.learner={name!r} is not a learner {algo} can use; choose one of {', '.join(choices)}")
    box, discrete = isinstance(action_space, spaces.Box), isinstance(action_space, spaces.Discrete)
    if name == "auto":
        if box:
            return "sac"
        if discrete:
            return "dqn"
        if "ppo" in allowed:
            return "ppo"
        raise IrlkitError(f"{algo} needs Box or Discrete actions; this env has {action_space}")
    if name == "dqn" and not discrete:
        raise IrlkitError(
            f"algo.learner=dqn needs Discrete actions, but this env's actions are {action_space} "
            "(continuous): use algo.learner=sac (or auto, which picks SAC for Box actions)."
        )
    if name == "sac" and not box:
        raise IrlkitError(
            f"algo.learner=sac needs Box (continuous) actions, but this env's actions are {action_space}: "
            "use algo.learner=dqn (or auto, which picks DQN for Discrete actions)."
        )
    return name


class SoftDQN(DQN):
    """SB3's DQN with a soft Bellman backup and the Boltzmann policy it evaluates (soft Q-learning,
    Haarnoja et al. 2017; the learner of SQIL, Reddy et al. 2020).

    target = r + gamma (1 - done) alpha logsumexp(Q_target(s', .) / alpha); the exploring policy is
    pi(a|s) = softmax(Q(s, .) / alpha); `predict(deterministic=True)` is the greedy action, so the
    saved model is a plain `stable_baselines3.DQN` for users. `ent_coef` (alpha) is a number (0 is
    SB3's epsilon-greedy DQN) or `auto`/`auto_<initial>`: alpha is then learned, as SAC's is
    (Haarnoja et al. 2018), to keep the policy's entropy at `target_entropy` x log|A|; the
    temperature then follows the scale of the Q-values whatever the reward's."""

    def __init__(
        self, *args: Any, ent_coef: Union[str, float] = 0.01, target_entropy: float = 0.5, **kwargs: Any
    ) -> None:
        self.ent_coef = ent_coef
        self.target_entropy_share = float(target_entropy)
        super().__init__(*args, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        self.log_ent_coef: Optional[th.Tensor] = None
        self.ent_coef_optimizer: Optional[th.optim.Optimizer] = None
        self._fixed_alpha = 0.0
        if isinstance(self.ent_coef, str) and self.ent_coef.startswith("auto"):
            start = float(self.ent_coef.split("_")[1]) if "_" in self.ent_coef else 1.0
            self.log_ent_coef = th.log(th.full((1,), start, device=self.device)).requires_grad_(True)
            self.ent_coef_optimizer = th.optim.Adam([self.log_ent_coef], lr=self.lr_schedule(1))
            self.target_entropy = self.target_entropy_share * float(np.log(cast(spaces.Discrete, self.action_space).n))
        else:
            self._fixed_alpha = float(self.ent_coef)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "log_ent_coef", "ent_coef_optimizer"]

    @property
    def soft(self) -> bool:
        return self.log_ent_coef is not None or self._fixed_alpha > 0.0

    @property
    def alpha(self) -> float:
        """The temperature now."""
        return float(self.log_ent_coef.detach().exp()) if self.log_ent_coef is not None else self._fixed_alpha

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        if not self.soft:
            return super().train(gradient_steps, batch_size)
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses, alphas = [], []
        for _ in range(gradient_steps):
            alpha = self.alpha
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = getattr(data, "discounts", None)  # SB3 >= 2.7 (n-step buffers); None otherwise
            gamma = discounts if discounts is not None else self.gamma
            with th.no_grad():
                next_v = alpha * th.logsumexp(self.q_net_target(data.next_observations) / alpha, dim=1, keepdim=True)
                target = data.rewards + (1 - data.dones) * gamma * next_v
            q_all = self.q_net(data.observations)
            q = th.gather(q_all, dim=1, index=data.actions.long())
            loss = F.smooth_l1_loss(q, target)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
            if self.log_ent_coef is not None:
                with th.no_grad():
                    log_pi = F.log_softmax(q_all / alpha, dim=1)
                    entropy = -(log_pi.exp() * log_pi).sum(dim=1).mean()
                ent_loss = (self.log_ent_coef * (entropy - self.target_entropy)).sum()
                self.ent_coef_optimizer.zero_grad()  # type: ignore[union-attr]
                ent_loss.backward()
                self.ent_coef_optimizer.step()  # type: ignore[union-attr]
            alphas.append(alpha)
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))
        self.logger.record("train/ent_coef", float(np.mean(alphas)))

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> Any:
        if deterministic or not self.soft:
            return super().predict(observation, state, episode_start, deterministic)
        obs, vectorized = self.policy.obs_to_tensor(observation)
        with th.no_grad():
            logits = self.q_net(obs) / self.alpha
        actions = th.distributions.Categorical(logits=logits).sample().cpu().numpy()
        return (actions if vectorized else actions[0]), state

    def log_prob(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """log pi(a|s) of the acting policy: Boltzmann, or epsilon-greedy when ent_coef is 0."""
        q = self.q_net(obs)
        a = actions.long().reshape(-1, 1)
        if self.soft:
            return th.gather(F.log_softmax(q / self.alpha, dim=1), 1, a).reshape(-1)
        eps, n = self.exploration_rate, q.shape[1]
        greedy = (q.argmax(dim=1, keepdim=True) == a).float()
        return th.log(eps / n + (1.0 - eps) * greedy).reshape(-1)


def _ent_coef(value: str) -> Union[str, float]:
    try:
        return float(value)
    except ValueError:
        return value


def make_learner(
    kind: str,
    cfg: LearnerConfig,
    venv: Any,
    *,
    seed: int,
    budget: int,
    replay_buffer_class: type = RelabelingReplayBuffer,
    replay_buffer_kwargs: Optional[dict[str, Any]] = None,
    logger: Any = None,
) -> OffPolicyAlgorithm:
    """An SB3 SAC (`kind="sac"`, `SACConfig`) or `SoftDQN` (`"dqn"`, `DQNConfig`) on `venv`
    (one env) with `replay_buffer_class` as its buffer; the capacity is capped at the budget."""
    if getattr(venv, "num_envs", 1) != 1:
        raise ValueError("off-policy learners run on one env (a budget of env steps is then spent exactly)")
    common: dict[str, Any] = dict(
        learning_rate=cfg.learning_rate,
        buffer_size=max(1, min(cfg.buffer_size, budget)),
        learning_starts=cfg.learning_starts,
        batch_size=cfg.batch_size,
        tau=cfg.tau,
        gamma=cfg.gamma,
        train_freq=cfg.train_freq,
        gradient_steps=cfg.gradient_steps,
        replay_buffer_class=replay_buffer_class,
        replay_buffer_kwargs=dict(replay_buffer_kwargs or {}),
        policy_kwargs={"net_arch": list(cfg.net_arch)},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    model: OffPolicyAlgorithm
    if kind == "sac":
        assert isinstance(cfg, SACConfig), type(cfg)
        model = SAC(
            "MlpPolicy", venv, ent_coef=_ent_coef(cfg.ent_coef), target_entropy=_ent_coef(cfg.target_entropy), **common
        )
    elif kind == "dqn":
        assert isinstance(cfg, DQNConfig), type(cfg)
        ent_coef = _ent_coef(cfg.ent_coef)
        soft = isinstance(ent_coef, str) or ent_coef > 0.0
        model = SoftDQN(
            "MlpPolicy",
            venv,
            ent_coef=ent_coef,
            target_entropy=cfg.target_entropy,
            target_update_interval=cfg.target_update_interval,
            exploration_fraction=cfg.exploration_fraction,
            exploration_initial_eps=0.0 if soft else 1.0,
            exploration_final_eps=0.0 if soft else cfg.exploration_final_eps,
            max_grad_norm=cfg.max_grad_norm,
            **common,
        )
    else:
        raise ValueError(f"no off-policy learner {kind!r}")
    if logger is not None:
        model.set_logger(logger)
    return model


def check_budget(kind: str, cfg: LearnerConfig, budget: int, *, algo: str) -> None:
    """Refuse a budget that ends before the learner's first gradient step."""
    if budget <= cfg.learning_starts:
        raise IrlkitError(
            f"algo.budget={budget} env steps ends before {algo}'s {kind.upper()} learner makes its first update: it takes "
            f"{cfg.learning_starts} random steps first (algo.{kind}.learning_starts). Raise algo.budget above "
            f"{cfg.learning_starts}, or lower algo.{kind}.learning_starts."
        )


def obs_tensor(model: OffPolicyAlgorithm, obs: np.ndarray) -> th.Tensor:
    return th.as_tensor(np.asarray(obs), dtype=th.float32, device=model.device)


def entropy_temperature(model: OffPolicyAlgorithm) -> float:
    """The learner's entropy temperature alpha now (SAC's ent_coef, soft DQN's alpha): the scale of
    reward at which its policy is soft-optimal, pi ~ exp(Q / alpha)."""
    if isinstance(model, SAC):
        if model.log_ent_coef is not None:
            return float(model.log_ent_coef.detach().exp())
        return float(model.ent_coef_tensor)
    if isinstance(model, SoftDQN):
        return model.alpha
    raise TypeError(f"no entropy temperature for {type(model).__name__}")


def policy_log_prob(model: OffPolicyAlgorithm, obs: np.ndarray, acts: np.ndarray) -> th.Tensor:
    """log pi(a|s) of the learner's current (exploring) policy, actions in env units, no gradient."""
    with th.no_grad():
        o = obs_tensor(model, obs)
        if isinstance(model, SAC):
            scaled = th.as_tensor(scale_actions(model.action_space, np.asarray(acts)), device=model.device)
            mean, log_std, kwargs = model.actor.get_action_dist_params(o)
            dist = model.actor.action_dist.proba_distribution(mean, log_std, **kwargs)
            return dist.log_prob(scaled.clamp(-1.0 + 1e-6, 1.0 - 1e-6)).reshape(-1)
        if isinstance(model, SoftDQN):
            return model.log_prob(o, th.as_tensor(np.asarray(acts), device=model.device))
    raise TypeError(f"no log pi(a|s) for {type(model).__name__}")


def pretrain_policy(
    model: OffPolicyAlgorithm,
    obs: np.ndarray,
    acts: np.ndarray,
    *,
    batches: int,
    rng: np.random.Generator,
    batch_size: int = 64,
    lr: float = 1e-3,
) -> None:
    """Behavior-clone the learner's policy on demos before it learns (a warm start, off by default):
    SAC's actor maximises log pi(a_demo|s); soft DQN's Boltzmann policy softmax(Q / alpha) is
    trained as a classifier of the demo actions."""
    if batches <= 0:
        return
    if isinstance(model, SAC):
        params = list(model.actor.parameters())
    else:
        params = list(cast(DQN, model).q_net.parameters())
    opt = th.optim.Adam(params, lr=lr)
    model.policy.set_training_mode(True)
    for _ in range(batches):
        idx = rng.integers(0, len(obs), size=batch_size)
        o = obs_tensor(model, obs[idx])
        if isinstance(model, SAC):
            scaled = th.as_tensor(scale_actions(model.action_space, acts[idx]), device=model.device)
            mean, log_std, kwargs = model.actor.get_action_dist_params(o)
            dist = model.actor.action_dist.proba_distribution(mean, log_std, **kwargs)
            loss = -dist.log_prob(scaled.clamp(-1.0 + 1e-6, 1.0 - 1e-6)).mean()
        else:
            temperature = model.alpha if isinstance(model, SoftDQN) and model.soft else 1.0
            loss = F.cross_entropy(
                cast(DQN, model).q_net(o) / temperature, th.as_tensor(acts[idx], device=model.device).long().reshape(-1)
            )
        opt.zero_grad()
        loss.backward()
        opt.step()
    if isinstance(model, DQN):
        model.q_net_target.load_state_dict(model.q_net.state_dict())
    model.policy.set_training_mode(False)


def save_learner(model: OffPolicyAlgorithm, path: Path) -> None:
    """Save as a plain SB3 zip (`SAC.load` / `DQN.load` open it without irlkit; irlkit's
    `load_policy` without unpickling) and its `policy.json`. The relabelling buffer class is
    irlkit's, so the saved model names SB3's own `ReplayBuffer` instead; the zip is replaced atomically."""
    import os

    from stable_baselines3.common.buffers import ReplayBuffer

    from irlkit.policies import write_policy_json

    path = Path(path)
    cls, kwargs = model.replay_buffer_class, model.replay_buffer_kwargs
    model.replay_buffer_class, model.replay_buffer_kwargs = ReplayBuffer, {}
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.zip")
    try:
        model.save(tmp)
    finally:
        model.replay_buffer_class, model.replay_buffer_kwargs = cls, kwargs
    os.replace(tmp, path)
    write_policy_json(path, "SAC" if isinstance(model, SAC) else "DQN", model.observation_space, model.action_space)


def sb3_csv_logger(run_dir: Path, name: str) -> Any:
    """SB3's own training log (losses, entropy coefficient, episode returns) as CSV in the run folder."""
    from stable_baselines3.common.logger import configure

    return configure(str(run_dir / "logs" / name), ["csv"])
