"""Plain PPO on the env's reward (`algo=ppo`), optionally shaped live by a person (`feedback=shaping`).

With `feedback=shaping` the training VecEnv is wrapped in `irlkit.shaping.tamer.ShapingVecEnv`:
the person's (or the scripted rule's) good/bad presses on env 0 train a feedback model whose
prediction, times `feedback.weight`, is added to every env's reward (TAMER, Knox & Stone 2009).
Other `feedback` kinds (the default `synthetic`, for preference runs) leave the reward alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Optional

import torch as th

from irlkit.algos.base import Progress, RLTrainer, RunContext, make_ppo
from irlkit.algos.configs import PPOTrainConfig
from irlkit.envs import make_venv
from irlkit.shaping.config import ShapingFeedbackConfig


class PPOTrainer(RLTrainer):
    def __init__(self, cfg: PPOTrainConfig, ctx: RunContext, *, on_frame: Optional[Callable[[int], None]] = None):
        self._cfg = cfg
        self.shaping_cfg: Optional[ShapingFeedbackConfig] = ctx.feedback if isinstance(ctx.feedback, ShapingFeedbackConfig) else None
        self.shaping: Any = None
        self._own_venv: Any = None
        venv = ctx.venv
        if self.shaping_cfg is not None:
            from irlkit.shaping.tamer import ShapingVecEnv

            sc = self.shaping_cfg
            if sc.render or sc.input == "keyboard":
                # Env 0 is shown: the training envs render rgb_array frames (drawn only when asked).
                env_cfg = dataclasses.replace(ctx.env_cfg, kwargs={**dict(ctx.env_cfg.kwargs), "render_mode": "rgb_array"})
                venv = self._own_venv = make_venv(env_cfg, seed=ctx.seed)
            self.shaping = ShapingVecEnv(venv, sc, env_cfg=ctx.env_cfg, seed=ctx.seed, on_frame=on_frame)
            venv = self.shaping
        self.rl = make_ppo(cfg.ppo, venv, seed=ctx.seed)
        self.rl.set_logger(_sb3_logger(ctx))
        self._steps = 0

    def train(self, budget: int, progress: Progress) -> None:
        # One rollout and its update per learn() call, so progress (and a checkpoint) comes between
        # updates, never between a rollout and the update it feeds.
        done = 0
        try:
            while done < budget:
                before = self.rl.num_timesteps
                self.rl.learn(total_timesteps=min(self.rollout_steps(), budget - done), reset_num_timesteps=False)
                n = int(self.rl.num_timesteps - before)
                done += n
                self._steps += n
                progress(n)
        finally:
            if self.shaping is not None:
                self.shaping.close_session()
            if self._own_venv is not None:
                self._own_venv.close()

    def save(self, run_dir: Path) -> dict[str, str]:
        files = super().save(run_dir)
        if self.shaping is not None:
            th.save(self.shaping.model.state_dict(), run_dir / "feedback_model.pt")
            files["feedback_model"] = "feedback_model.pt"
        return files

    def summary(self) -> dict[str, Any]:
        if self.shaping is None:
            return {}
        return {"feedback": "shaping", "shaping_weight": self.shaping_cfg.weight, **self.shaping.summary()}


def _sb3_logger(ctx: RunContext) -> Any:
    from stable_baselines3.common.logger import configure

    return configure(str(ctx.run_dir / "logs" / "ppo"), ["csv"])


def build(cfg: PPOTrainConfig, ctx: RunContext) -> PPOTrainer:
    return PPOTrainer(cfg, ctx)
