r"""Train `python -m irlkit` off-policy AIRL/GAIL and log what drives its soft DQN every 2,000 env steps.

    .venv/bin/python bench/airl_diagnostics.py OUT.jsonl algo=airl seed=2 algo.budget=40000 \
        algo.dqn.tau=0.01 algo.dqn.target_update_interval=1 hydra.run.dir=RUN progress=false

The arguments after OUT.jsonl are those of `python -m irlkit`; the run is the same run. One JSON
line per 2,000 env steps, over 2,000 replayed transitions: the discriminator's raw logit f (AIRL:
g + gamma h' - h) and its parts, the reward the generator is trained on (`r_*`, after the running
normalisation, whose statistics are `norm_*`), the Q-values (`q_*`, `q_gap` = mean |Q(s,0) - Q(s,1)|),
the soft value bound (r_max + gamma alpha log|A|) / (1 - gamma) that no consistent Q exceeds, and alpha.
Discrete actions (soft DQN) only. Written to find why a Polyak target diverges (BENCHMARKS.md,
"AIRL's DQN target network").
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import torch as th

import irlkit.algos.dac as dac


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if len(sys.argv) >= 2 else 2)
    out = open(sys.argv[1], "a")
    on_step = dac.DACTrainer.on_step

    def logged(self: Any, step: int) -> None:
        on_step(self, step)
        buffer = self.rl.replay_buffer
        if step % 2000 or buffer.size() < 1000:
            return
        tb = buffer.sample_transitions(2000)
        net, ab = self.disc.net, self.absorbing
        with th.no_grad():
            inputs = net.preprocess(ab.pad(tb.obs), tb.acts, ab.pad(tb.next_obs), tb.dones)
            f = net(*inputs).flatten().numpy()
            parts = {}
            if hasattr(net, "potential"):  # AIRL's shaped net
                parts = {"g": net.base(*inputs).flatten().numpy(), "h": net.potential(inputs[0]).flatten().numpy()}
            r = np.asarray(buffer.reward_fn(tb.obs, tb.acts, tb.next_obs, tb.dones))
            q = self.rl.q_net(th.as_tensor(tb.obs)).numpy()
        alpha, gamma = float(self.rl.alpha), float(self.rl.gamma)
        norm = getattr(self.generator_net, "normalize_output_layer", None)
        rec = {"step": step, "f_mean": float(f.mean()), "f_std": float(f.std())}
        rec.update({f"{k}_{s}": float(getattr(v, s)()) for k, v in parts.items() for s in ("mean", "std")})
        rec.update(r_mean=float(r.mean()), r_std=float(r.std()), r_min=float(r.min()), r_max=float(r.max()))
        if norm is not None:
            rec.update(norm_mean=float(norm.running_mean.item()), norm_std=float(norm.running_var.item() ** 0.5))
        rec.update(q_min=float(q.min()), q_mean=float(q.mean()), q_max=float(q.max()))
        rec.update(q_gap=float(np.abs(q[:, 0] - q[:, 1]).mean()), alpha=alpha)
        rec["value_bound"] = (float(r.max()) + gamma * alpha * float(np.log(q.shape[1]))) / (1.0 - gamma)
        out.write(json.dumps(rec) + "\n")
        out.flush()

    dac.DACTrainer.on_step = logged  # type: ignore[method-assign]
    sys.argv = ["irlkit", *sys.argv[2:]]
    from irlkit.__main__ import main as irlkit_main

    irlkit_main()


if __name__ == "__main__":
    main()
