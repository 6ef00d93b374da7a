"""Saving and loading policies and experts, without running code from the files.

Why irlkit does not call `PPO.load` on what a run folder, the store or the expert cache holds:
SB3 zips keep their hyperparameters in a JSON file (`data`) whose non-JSON values (the policy
class, the spaces, learning-rate schedules, ...) are cloudpickled, and `load` unpickles them, so a
tampered `policy.zip` would run any code it likes on `python -m irlkit.evaluate`. Here the zip is
read by hand (`irlkit.policies.sb3_zip`): weights through torch's `weights_only` loader,
hyperparameters from the JSON values, spaces from `policy.json` or the env, and the SB3 model
rebuilt from those. Zips stay standard SB3 zips: users load every irlkit policy with plain
`stable_baselines3.PPO.load` too (on files they trust).

Across stacks (gymnasium 0.29 + SB3 2.2, gymnasium 1.x + SB3 2.9) the weights have the same
layout, so a zip written on one loads on the other; `policy.json` records the stack that wrote a
policy, and an error names both stacks when something does not fit.

A run folder holds `policy.json` (which file, how to load it, its spaces, the stack that wrote it)
and the policy file: an SB3 `policy.zip`, or, for MCE IRL's tabular policy, `policy.npy`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np
from gymnasium import spaces

from irlkit.errors import IrlkitError
from irlkit.policies.sb3_zip import SB3_ALGORITHMS, Sb3Zip, load_sb3_model, load_tensors, stack_versions

__all__ = [
    "SB3_ALGORITHMS",
    "Sb3Zip",
    "load_policy",
    "load_sb3_model",
    "load_tensors",
    "save_policy_zip",
    "stack_versions",
    "write_policy_json",
]


# ------------------------------------------------------------------------------------------------
# run folders: policy.zip + policy.json
# ------------------------------------------------------------------------------------------------
def save_policy_zip(policy: Any, path: Path, algo: Optional[Any] = None) -> None:
    """Save as an SB3 `.zip` that `PPO.load(path)` opens, whatever algorithm learned it, and write
    `policy.json` beside it (algorithm, spaces and the stack that wrote it, for `load_policy`).

    Offline learners (BC, DAgger) have no SB3 algorithm; their ActorCriticPolicy is placed in a
    PPO shell so users load every irlkit policy the same way. Both files are replaced atomically."""
    from stable_baselines3.common.policies import ActorCriticPolicy

    path = Path(path)
    if algo is None:
        from stable_baselines3 import PPO

        assert isinstance(policy, ActorCriticPolicy), type(policy)
        algo = PPO(
            "MlpPolicy",
            _spaces_venv(policy.observation_space, policy.action_space),
            policy_kwargs={"net_arch": policy.net_arch},
            device="cpu",
            n_steps=8,
            batch_size=8,
        )
        algo.policy.load_state_dict(policy.state_dict())
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.zip")
    algo.save(tmp)
    os.replace(tmp, path)
    write_policy_json(path, type(algo).__name__, algo.observation_space, algo.action_space)


def write_policy_json(
    path: Path, kind: str, observation_space: Optional[spaces.Space] = None, action_space: Optional[spaces.Space] = None
) -> None:
    """`policy.json`: which file holds the policy, how to load it, and the stack that wrote it."""
    from irlkit.store.spaces import space_to_json

    meta: dict[str, Any] = {"file": Path(path).name, "sb3_class": kind, "written_by": stack_versions()}
    if observation_space is not None and action_space is not None:
        meta["observation_space"] = space_to_json(observation_space)
        meta["action_space"] = space_to_json(action_space)
    target = Path(path).parent / "policy.json"
    tmp = target.with_name(f".policy.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(tmp, target)


def load_policy(run_dir: Path) -> Any:
    """The policy of a finished run (any irlkit algorithm), loaded without running code from it."""
    run_dir = Path(run_dir)
    meta_path = run_dir / "policy.json"
    if not meta_path.exists():
        if (run_dir / "config.yaml").exists():
            raise IrlkitError(
                f"this run did not finish: {run_dir} has config.yaml but no policy.json, so training stopped before it "
                "saved its policy (killed, interrupted or failed). Train it again with the same command; a policy is "
                "saved only when training completes."
            )
        raise IrlkitError(
            f"{run_dir} holds no policy (no policy.json); pass a run folder that `python -m irlkit` "
            "printed at the end of a finished run"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise IrlkitError(
            f"{meta_path} cannot be read ({type(err).__name__}: {err}); it is damaged. Train the run "
            "again, or restore the file."
        ) from None
    kind, name = (meta.get("sb3_class"), meta.get("file")) if isinstance(meta, dict) else (None, None)
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name:
        raise IrlkitError(
            f"{meta_path} names the policy file {name!r}, which is not a file name in the run "
            'folder; the file was changed. Restore it (it says {"file": "policy.zip", ...}).'
        )
    file = run_dir / name
    if not file.is_file():
        raise IrlkitError(f"the policy file {file} that {meta_path.name} names is missing; restore it or train again")
    if kind == "tabular":
        return _load_tabular(file)
    if kind not in SB3_ALGORITHMS:
        raise IrlkitError(
            f"{meta_path} names the policy class {kind!r}, which is none of "
            f"{', '.join(SB3_ALGORITHMS + ('tabular',))}; the file was changed. Restore it."
        )
    obs_space, act_space = _run_spaces(run_dir, meta)
    written_by = meta.get("written_by") if isinstance(meta.get("written_by"), dict) else None
    model = load_sb3_model(
        file,
        observation_space=obs_space,
        action_space=act_space,
        algo=kind,
        what=f"the policy of run {run_dir.name}",
        written_by=written_by,
        fix="train the run again, or restore the run folder from a copy you trust",
    )
    return model.policy


def _load_tabular(file: Path) -> Any:
    from irlkit.policies.tabular import OneHotTabularPolicy

    try:
        pi = np.load(file, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise IrlkitError(f"{file} cannot be read as a tabular policy ({err}); restore it or train again") from None
    if pi.ndim != 3 or not np.isfinite(pi).all():
        raise IrlkitError(f"{file} is not a tabular policy (an array of shape horizon x states x actions); restore it")
    return OneHotTabularPolicy(
        state_space=spaces.Discrete(pi.shape[1]),
        action_space=spaces.Discrete(pi.shape[2]),
        pi=pi,
        rng=np.random.default_rng(0),
    )


def _run_spaces(run_dir: Path, meta: dict[str, Any]) -> tuple[spaces.Space, spaces.Space]:
    """The spaces policy.json records, or (runs saved before it did) those of the run's env."""
    from irlkit.errors import StoreError
    from irlkit.store.spaces import space_from_json

    if isinstance(meta.get("observation_space"), dict) and isinstance(meta.get("action_space"), dict):
        try:
            return space_from_json(meta["observation_space"]), space_from_json(meta["action_space"])
        except StoreError as err:
            raise IrlkitError(f"{run_dir / 'policy.json'}: {err}; the file is damaged. Restore it.") from None
    import dataclasses

    import yaml

    from irlkit.envs import EnvConfig, make_env

    try:
        cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
        env_section = cfg["env"]
        known = {f.name for f in dataclasses.fields(EnvConfig)}
        env_cfg = EnvConfig(**{k: v for k, v in env_section.items() if k in known})
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as err:
        raise IrlkitError(
            f"{run_dir}: policy.json does not record the policy's spaces and config.yaml does not say the env "
            f"({type(err).__name__}: {err}); restore config.yaml or train again"
        ) from None
    env = make_env(env_cfg)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def _spaces_venv(observation_space: spaces.Space, action_space: spaces.Space) -> Any:
    """Just enough of a VecEnv for SB3 to build a model shell around a finished policy."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv

    class _SpacesOnly(gym.Env):
        def __init__(self) -> None:
            self.observation_space = observation_space
            self.action_space = action_space

        def reset(self, *, seed=None, options=None):
            return observation_space.sample(), {}

        def step(self, action):
            return observation_space.sample(), 0.0, True, False, {}

    return DummyVecEnv([_SpacesOnly])
