"""The training loop every SB3 off-policy learner in irlkit runs: exactly `budget` env steps on one env.

`OffPolicyTrainer` is the mixin of GAIL/AIRL as DAC, SQIL and (through its checkpoint methods)
off-policy preference learning: per-step work in `on_step`, progress in chunks, checkpoints of the
learner between two env steps, and the optional demo-matching policy selection
(`irlkit.algos.selection`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from irlkit.algos.checkpoint import Checkpoint
from irlkit.algos.configs import PolicySelectionConfig
from irlkit.algos.learners import SoftDQN, save_learner
from irlkit.algos.selection import DemoMatchSelector, demo_states, make_selector


class _StepHook(BaseCallback):
    """The trainer's per-step work, progress in chunks, and a stop at the budget (SB3 collects
    whole `train_freq` chunks, so `learn` alone could overshoot it)."""

    def __init__(self, trainer: "OffPolicyTrainer", budget: int, progress: Any, start: int = 0) -> None:
        super().__init__()
        self.trainer, self.budget, self.progress = trainer, budget, progress
        self.reported = start
        self.every = max(1, min(1000, budget // 100))

    def _on_step(self) -> bool:
        n = int(self.model.num_timesteps)
        self.trainer.on_step(n)
        self.trainer.maybe_select(n)
        if n - self.reported >= self.every or n >= self.budget:
            self.flush()
        return n < self.budget

    def flush(self) -> None:
        n = min(int(self.model.num_timesteps), self.budget)
        if n > self.reported:
            self.progress(n - self.reported)
            self.reported = n


class OffPolicyTrainer:
    """Mixin for algorithms whose policy is an SB3 off-policy learner (`self.rl`) on its own one-env
    VecEnv, trained for exactly `budget` env steps; subclasses add per-step work in `on_step`."""

    rl: OffPolicyAlgorithm
    _venv: Any
    selector: Optional[DemoMatchSelector] = None
    """A `DemoMatchSelector` when `algo.select_policy.points` resolves to > 0."""
    _candidates: Optional[Path] = None
    """Where every candidate policy is saved (`algo.select_policy.keep_candidates`), else None."""

    def make_venv(self, ctx: Any) -> Any:
        from irlkit.envs import make_venv

        self._venv = make_venv(ctx.env_cfg, seed=ctx.seed, n_envs=1)
        return self._venv

    def init_selection(self, cfg: PolicySelectionConfig, ctx: Any, *, budget: int, algo: str) -> None:
        """Keep the policy closest to the demos (`irlkit.algos.selection`) when `cfg.points` resolves to > 0."""
        demo_obs, demo_steps = demo_states(ctx.demos)
        self.selector = make_selector(
            cfg, ctx.env_cfg, demo_obs, ctx.seed, budget=budget, algo=algo, demo_steps=demo_steps
        )
        self._candidates = Path(ctx.run_dir) / "selection" if cfg.keep_candidates else None

    def maybe_select(self, step: int) -> None:
        if self.selector is not None and self.selector.due(step):
            self.selector.consider(step, self.rl.policy)
            if self._candidates is not None:
                folder = self._candidates / f"step-{step}"  # policy.zip + policy.json: `load_policy(folder)`
                folder.mkdir(parents=True, exist_ok=True)
                save_learner(self.rl, folder / "policy.zip")

    def selection_summary(self) -> dict[str, Any]:
        return self.selector.summary() if self.selector is not None else {}

    def on_step(self, step: int) -> None:
        """Called after env step number `step` (1-based), before the learner's gradient steps."""

    def train(self, budget: int, progress: Any) -> None:
        """`budget` more env steps: from the start, or from where a restored checkpoint left off
        (SB3 then keeps its step count, schedules and replay buffer, and resets the env)."""
        start = int(self.rl.num_timesteps)
        hook = _StepHook(self, start + budget, progress, start=start)
        try:
            self.rl.learn(total_timesteps=budget, callback=hook, progress_bar=False, reset_num_timesteps=start == 0)
        finally:
            self._venv.close()
        hook.flush()
        if self.selector is not None:
            self.selector.restore_best(self.rl.policy)

    def checkpoint(self) -> Checkpoint:
        """The learner (nets, optimizers, counters, replay buffer; soft DQN's temperature) between two
        env steps. Not saved: the env's own state, so a resumed run starts a fresh episode where the
        killed one was mid-episode (resumed runs are not bit-identical to unkilled ones)."""
        from irlkit.algos.checkpoint import sb3_state

        tensors, meta, arrays = sb3_state(self.rl, "rl")
        meta["n_calls"] = int(getattr(self.rl, "_n_calls", 0))
        log_alpha = getattr(self.rl, "log_ent_coef", None)
        if isinstance(self.rl, SoftDQN) and log_alpha is not None:
            tensors["rl/soft_log_alpha"] = log_alpha.detach().clone()
            tensors["rl/soft_alpha_optimizer"] = self.rl.ent_coef_optimizer.state_dict()  # type: ignore[union-attr]
        ckpt = Checkpoint(tensors=tensors, arrays=arrays, meta={"rl": meta})
        selector = getattr(self, "selector", None)  # preference's trainer borrows this method
        if selector is not None:
            ckpt.tensors["select"], ckpt.meta["select"] = selector.state()
        return ckpt

    def restore(self, ckpt: Checkpoint) -> None:
        from irlkit.algos.checkpoint import load_sb3_state

        load_sb3_state(self.rl, "rl", ckpt.tensors, ckpt.meta["rl"], ckpt.arrays)
        if hasattr(self.rl, "_n_calls"):
            self.rl._n_calls = int(ckpt.meta["rl"].get("n_calls", 0))
        if "rl/soft_log_alpha" in ckpt.tensors and isinstance(self.rl, SoftDQN) and self.rl.log_ent_coef is not None:
            with th.no_grad():
                self.rl.log_ent_coef.copy_(ckpt.tensors["rl/soft_log_alpha"])
            self.rl.ent_coef_optimizer.load_state_dict(ckpt.tensors["rl/soft_alpha_optimizer"])  # type: ignore[union-attr]
        selector = getattr(self, "selector", None)
        if selector is not None and "select" in ckpt.meta:
            selector.load_state(ckpt.tensors.get("select", {}), ckpt.meta["select"])

    @property
    def env_steps(self) -> int:
        return int(self.rl.num_timesteps)
