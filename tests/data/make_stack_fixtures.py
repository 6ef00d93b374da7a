"""Write the cross-stack fixtures: SB3 zips saved on this venv's stack, with the actions they take.

Run once per stack; each writes `tests/data/stacks/sb3-<version>/`:

    .venv/bin/python tests/data/make_stack_fixtures.py          (gymnasium 1.x + SB3 2.9)
    .venv-pinned/bin/python tests/data/make_stack_fixtures.py   (gymnasium 0.29 + SB3 2.2)

`tests/test_policies.py` then loads every stack's files on whichever stack runs the suite and
checks each model takes the recorded actions. The nets are tiny and untrained (fixed seeds): what
is tested is that the weights come back, not that they are any good.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import stable_baselines3 as sb3

from irlkit.experts import save_expert
from irlkit.policies import save_policy_zip

HERE = Path(__file__).resolve().parent / "stacks"
MODELS = {
    # file: (algorithm, env id, constructor kwargs, saved by irlkit's save_expert (else plain model.save))
    "ppo_expert.zip": ("PPO", "CartPole-v1", {"n_steps": 16, "batch_size": 16}, True),
    "dqn_expert.zip": ("DQN", "CartPole-v1", {"buffer_size": 64}, True),
    "dqn_plain.zip": ("DQN", "CartPole-v1", {"buffer_size": 64}, False),
    "sac_expert.zip": ("SAC", "Pendulum-v1", {"buffer_size": 64}, True),
    "sac_sde_plain.zip": ("SAC", "MountainCarContinuous-v0", {"buffer_size": 64, "use_sde": True}, False),
}


def _observations(space: gym.Space, n: int = 8) -> np.ndarray:
    space.seed(0)
    return np.stack([space.sample() for _ in range(n)])


def main() -> None:
    out = HERE / f"sb3-{sb3.__version__}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    expected: dict[str, dict] = {"stable_baselines3": sb3.__version__, "gymnasium": gym.__version__, "files": {}}
    for name, (algo, env_id, kwargs, by_irlkit) in MODELS.items():
        env = gym.make(env_id)
        model = getattr(sb3, algo)("MlpPolicy", env, policy_kwargs={"net_arch": [8]}, seed=0, device="cpu", **kwargs)
        if by_irlkit:
            save_expert(model, out / name)
        else:
            model.save(out / name)
        obs = _observations(env.observation_space)
        acts = model.predict(obs, deterministic=True)[0]
        expected["files"][name] = {"algo": algo, "env_id": env_id, "obs": obs.tolist(), "actions": acts.tolist()}
    run = out / "run"
    run.mkdir()
    env = gym.make("CartPole-v1")
    model = sb3.PPO("MlpPolicy", env, policy_kwargs={"net_arch": [8]}, seed=1, device="cpu", n_steps=16, batch_size=16)
    save_policy_zip(model.policy, run / "policy.zip")  # as BC and DAgger save theirs: a PPO shell
    obs = _observations(env.observation_space)
    expected["files"]["run"] = {
        "algo": "PPO",
        "env_id": "CartPole-v1",
        "obs": obs.tolist(),
        "actions": model.policy.predict(obs, deterministic=True)[0].tolist(),
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")


if __name__ == "__main__":
    main()
