"""Reading an SB3 zip and rebuilding its model without unpickling anything (irlkit.policies says why).

- `policy.pth` and the optimizer states through `torch.load(weights_only=True)` (tensors only);
- hyperparameters from the JSON values of `data`; a `:serialized:` (pickled) value is never
  decoded: what is needed of it comes from its readable fields (the policy class's module, the
  class names in `policy_kwargs`, allow-listed), otherwise SB3's default stands (this matters only
  for schedules, and only when training the loaded model further);
- the spaces from the caller (the env it will act in), never from the zip.

The model is rebuilt as SB3's own `load` does (construct without setup, set the hyperparameters,
`_setup_model`, then the weights), so what comes back is a normal SB3 algorithm.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any, NoReturn, Optional

import numpy as np
from gymnasium import spaces

from irlkit.errors import IrlkitError

SB3_ALGORITHMS = ("PPO", "A2C", "DQN", "SAC", "TD3", "DDPG")
"""The SB3 algorithms a zip may name; anything else is refused rather than looked up."""

_POLICY_MODULES = {
    "stable_baselines3.common.policies": "PPO",
    "stable_baselines3.ppo.policies": "PPO",
    "stable_baselines3.a2c.policies": "A2C",
    "stable_baselines3.dqn.policies": "DQN",
    "stable_baselines3.sac.policies": "SAC",
    "stable_baselines3.td3.policies": "TD3",
}
"""Where each algorithm's policy class lives (readable in a zip's `data` without unpickling)."""

MAX_DATA_BYTES = 16 * 1024 * 1024
"""An SB3 `data` file is a few KB of JSON; a larger one is refused unread."""

_NOT_RESTORED = {
    # set from the caller, or rebuilt by _setup_model, never from the file
    "policy_class",
    "observation_space",
    "action_space",
    "n_envs",
    "device",
    "env",
    "_vec_normalize_env",
    "policy",
    "policy_kwargs",
    "lr_schedule",
    "verbose",
    "tensorboard_log",
    "_logger",
    "_custom_logger",
    "rollout_buffer_class",
    "replay_buffer_class",
    "rollout_buffer",
    "replay_buffer",
    # state of a rollout in progress: meaningless without the env it came from
    "_last_obs",
    "_last_original_obs",
    "_last_episode_starts",
    "ep_info_buffer",
    "ep_success_buffer",
}
_CLASS_REPR = re.compile(r"^<class '([A-Za-z_][\w.]*)'>$")


def stack_versions() -> dict[str, str]:
    """The versions that decide whether a saved policy fits this install."""
    import gymnasium
    import stable_baselines3
    import torch

    from irlkit import __version__

    return {
        "irlkit": __version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
        "torch": torch.__version__.split("+")[0],
        "numpy": np.__version__,
    }


def _stack_text(versions: dict[str, str]) -> str:
    return ", ".join(
        f"{k.replace('_', '-')} {versions[k]}" for k in ("stable_baselines3", "gymnasium", "torch") if versions.get(k)
    )


# ------------------------------------------------------------------------------------------------
# reading an SB3 zip
# ------------------------------------------------------------------------------------------------
class Sb3Zip:
    """The parts of an SB3 zip that can be read without unpickling anything.

    :param path: the zip.
    :param what: how error messages name it ("expert …", "policy of run …").
    :param fix: what error messages advise when the file is damaged or tampered with.
    """

    def __init__(self, path: Path, what: str, fix: str = "replace it with the file as it was saved"):
        self.path = Path(path)
        self.what = what
        self.fix = fix
        try:
            with zipfile.ZipFile(self.path) as archive:
                names = set(archive.namelist())
                if "data" not in names or "policy.pth" not in names:
                    self._fail("holds no SB3 model (it lacks `data` or `policy.pth`)")
                if archive.getinfo("data").file_size > MAX_DATA_BYTES:
                    self._fail(f"has a `data` entry over {MAX_DATA_BYTES // 2**20} MiB; an SB3 model's is a few KB")
                self.data = self._read_json(archive.read("data"))
                self.tensors: dict[str, Any] = {}
                for name in sorted(names):
                    if name.endswith(".pth"):
                        self.tensors[name[: -len(".pth")]] = self._read_tensors(name, archive.read(name))
                self.sb3_version = (
                    archive.read("_stable_baselines3_version").decode("utf-8", "replace").strip()
                    if "_stable_baselines3_version" in names
                    else ""
                )
                self.system_info = (
                    archive.read("system_info.txt").decode("utf-8", "replace") if "system_info.txt" in names else ""
                )
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            zlib.error,
            OSError,
            EOFError,
            KeyError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as err:  # RuntimeError: an encrypted entry
            self._fail(f"cannot be read as a zip ({type(err).__name__}: {err})")

    def _fail(self, what_is_wrong: str) -> NoReturn:
        raise IrlkitError(
            f"{self.what} ({self.path}) {what_is_wrong}. It is damaged or was not written by stable-baselines3: "
            f"{self.fix}."
        )

    def _read_json(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            self._fail(f"has a `data` entry that is not valid JSON ({type(err).__name__})")
        if not isinstance(data, dict):
            self._fail("has a `data` entry that is not a JSON object")
        return data

    def _read_tensors(self, name: str, raw: bytes) -> Any:
        return load_tensors(io.BytesIO(raw), what=f"{self.what} ({self.path}): {name}", fix=self.fix)

    # ---- what the JSON says, without unpickling -----------------------------------------------
    def json_value(self, key: str) -> Any:
        """A `data` value stored as plain JSON, or None when it is absent or pickled."""
        value = self.data.get(key)
        return None if _is_pickled(value) else value

    def readable(self, key: str) -> dict[str, Any]:
        """The readable first-level fields SB3 writes beside a pickled value (its `:serialized:` is never read)."""
        value = self.data.get(key)
        if not isinstance(value, dict):
            return {}
        return {k: v for k, v in value.items() if k != ":serialized:"}

    def algorithm(self) -> str:
        """The SB3 algorithm class name: irlkit's own record, else the policy class's module."""
        named = self.json_value("irlkit_algo")
        if isinstance(named, str):
            if named not in SB3_ALGORITHMS:
                self._fail(f"names the algorithm {named!r}, which is none of {', '.join(SB3_ALGORITHMS)}")
            return named
        module = self.readable("policy_class").get("__module__")
        return _POLICY_MODULES.get(module, "PPO") if isinstance(module, str) else "PPO"

    def written_by(self) -> str:
        """'stable-baselines3 X, gymnasium Y, torch Z' from the zip's system_info.txt."""
        found = {}
        labels = (("stable_baselines3", "Stable-Baselines3"), ("gymnasium", "Gymnasium"), ("torch", "PyTorch"))
        for key, label in labels:
            m = re.search(rf"{label}:\s*(\S+)", self.system_info)
            if m:
                found[key] = m.group(1).split("+")[0]
        if not found.get("stable_baselines3") and self.sb3_version:
            found["stable_baselines3"] = self.sb3_version
        return _stack_text(found) or "an unknown stack"


def load_tensors(source: Any, *, what: str, fix: str) -> Any:
    """`torch.load(weights_only=True)` (tensors and plain containers only) with one-paragraph errors.

    :param source: a path or a binary file object.
    :param what: how the error names the file ("reward_net.pt of run DIR").
    :param fix: what the error advises."""
    import pickle

    import torch as th

    try:
        return th.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err).strip()
        first = text.splitlines()[0] if text else type(err).__name__
        raise IrlkitError(
            f"{what} holds Python objects besides tensors, which irlkit refuses to load because unpickling them "
            f"could run code ({first}). A file torch or SB3 wrote for irlkit holds only tensors: this one was changed "
            f"after saving; {fix}."
        ) from None
    except (RuntimeError, ValueError, EOFError, OSError, zipfile.BadZipFile) as err:
        raise IrlkitError(
            f"{what} cannot be read by torch ({type(err).__name__}: {err}); it is damaged: {fix}."
        ) from None


def _is_pickled(value: Any) -> bool:
    return isinstance(value, dict) and ":serialized:" in value


def _policy_kwargs(z: Sb3Zip) -> dict[str, Any]:
    """`policy_kwargs` as plain values: JSON as stored, or rebuilt from a pickled dict's readable
    fields where each non-JSON entry is an allow-listed class (activation, optimizer, extractor)."""
    raw = z.data.get("policy_kwargs") or {}
    if not isinstance(raw, dict):
        z._fail("has `policy_kwargs` that are not a mapping")
    pickled = _is_pickled(raw)
    kwargs = {}
    for key, value in raw.items():
        if key.startswith(":") or key == "device":
            continue
        if pickled and isinstance(value, str) and value.startswith("<"):
            value = _allowed_class(z, key, value)
        kwargs[key] = value
    net_arch = kwargs.get("net_arch")
    if isinstance(net_arch, list) and net_arch and isinstance(net_arch[0], dict):
        kwargs["net_arch"] = net_arch[0]  # SB3 < 1.8's format, converted as SB3's own load does
    return kwargs


def _allowed_class(z: Sb3Zip, key: str, text: str) -> Any:
    import stable_baselines3.common.torch_layers as torch_layers
    import torch as th

    m = _CLASS_REPR.match(text)
    dotted = m.group(1) if m else ""
    module, _, name = dotted.rpartition(".")
    found: Any = None
    if module.startswith("torch.nn.modules."):
        found = getattr(th.nn, name, None)
    elif module.startswith("torch.optim."):
        found = getattr(th.optim, name, None)
    elif module == "stable_baselines3.common.torch_layers":
        found = getattr(torch_layers, name, None)
    if not isinstance(found, type):
        raise IrlkitError(
            f"{z.what} ({z.path}) has policy_kwargs[{key!r}] = {text}, a Python object irlkit cannot rebuild without "
            "unpickling it (it rebuilds torch.nn activations, torch.optim optimizers and SB3's feature extractors). "
            "Load it with stable-baselines3 itself only if you trust the file: <Algorithm>.load(path)."
        )
    return found


# ------------------------------------------------------------------------------------------------
# rebuilding a model
# ------------------------------------------------------------------------------------------------
def load_sb3_model(
    path: Path,
    *,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    what: str,
    fix: str = "replace it with the file as it was saved",
    algo: Optional[str] = None,
    written_by: Optional[dict[str, str]] = None,
) -> Any:
    """An SB3 algorithm rebuilt from a zip without unpickling anything (see the module doc).

    :param observation_space: the space of the env the model will act in (the zip's is pickled).
    :param action_space: likewise.
    :param what: how errors name the file ("expert cartpole", "the policy of run DIR").
    :param fix: what errors advise when the file is damaged or tampered with.
    :param algo: the SB3 algorithm class name, when the caller knows it (else read from the zip).
    :param written_by: the stack that wrote the file, when recorded beside it (policy.json).
    :return: a `stable_baselines3.common.base_class.BaseAlgorithm` on the CPU, without an env (as
        `load(path)` without `env=` gives), ready for `predict`.
    """
    import stable_baselines3 as sb3
    from stable_baselines3.common.save_util import recursive_getattr

    z = Sb3Zip(path, what, fix)
    algo = algo or z.algorithm()
    if algo not in SB3_ALGORITHMS:
        raise IrlkitError(f"{what} ({path}) names the algorithm {algo!r}, which is none of {', '.join(SB3_ALGORITHMS)}")
    stack = _stack_text(written_by) if written_by else z.written_by()
    _check_spaces(z, observation_space, action_space, stack)
    cls = getattr(sb3, algo)
    model = cls(policy="MlpPolicy", env=None, device="cpu", _init_setup_model=False)
    module = z.readable("policy_class").get("__module__")
    if isinstance(module, str) and module != model.policy_class.__module__ and module in _POLICY_MODULES:
        raise IrlkitError(
            f"{what} ({path}) holds a policy of {module}, which does not belong to {algo}; the file "
            "was changed or is not what its name says"
        )
    model.observation_space, model.action_space, model.n_envs = observation_space, action_space, 1
    for key, value in z.data.items():
        if key in _NOT_RESTORED or key not in model.__dict__ or _is_pickled(value):
            continue
        current = model.__dict__[key]
        if current is None or isinstance(current, (bool, int, float, str, list, dict, tuple)):
            model.__dict__[key] = tuple(value) if isinstance(current, tuple) and isinstance(value, list) else value
    model.policy_kwargs = _policy_kwargs(z)
    try:
        model._setup_model()
    except (TypeError, ValueError, AssertionError, KeyError, MemoryError, OverflowError) as err:
        raise IrlkitError(
            f"{what} ({path}, written by {stack}) cannot be rebuilt here ({type(err).__name__}: {err}); this irlkit "
            f"runs {_stack_text(stack_versions())}. Train it again on this stack."
        ) from None
    params = z.tensors
    if "policy" not in params or not isinstance(params["policy"], dict):
        z._fail("has a policy.pth that holds no state dict")
    try:
        model.policy.load_state_dict(params["policy"], strict=True)
    except (RuntimeError, TypeError, KeyError) as err:
        first = str(err).strip().splitlines()[0]
        raise IrlkitError(
            f"{what} ({path}) does not fit: its weights do not match the {algo} network built for observations "
            f"{_space_text(observation_space)} and actions {_space_text(action_space)} ({first}). It was written by "
            f"{stack}; this irlkit runs {_stack_text(stack_versions())}. Use the env it was trained on, or train it "
            "again."
        ) from None
    save_names, variable_names = model._get_torch_save_params()
    for name in save_names:
        if name != "policy" and isinstance(params.get(name), dict):
            try:  # optimizer moments matter only for further training; SB3 2.4 changed DQN's layout
                recursive_getattr(model, name).load_state_dict(params[name])
            except (ValueError, KeyError, RuntimeError, TypeError):
                pass
    variables = params.get("pytorch_variables")
    if isinstance(variables, dict):
        import torch as th

        for name in variable_names:
            saved, mine = variables.get(name), recursive_getattr(model, name, None)
            if isinstance(saved, th.Tensor) and isinstance(mine, th.Tensor) and saved.shape == mine.shape:
                mine.data.copy_(saved.data)
    if getattr(model, "use_sde", False):
        model.policy.reset_noise()
    return model


def _space_text(space: spaces.Space) -> str:
    from irlkit.store.spaces import describe_space

    return describe_space(space)


def _check_spaces(z: Sb3Zip, observation_space: spaces.Space, action_space: spaces.Space, stack: str) -> None:
    """Compare with the shapes and sizes readable beside the zip's pickled spaces, for a clear message."""
    for key, space in (("observation_space", observation_space), ("action_space", action_space)):
        seen = z.readable(key)
        shape = seen.get("_shape")
        mismatch = isinstance(shape, list) and tuple(shape) != tuple(space.shape or ())
        if isinstance(space, spaces.Discrete) and str(seen.get("n", space.n)) != str(space.n):
            mismatch = True
        if mismatch:
            saved = f"Discrete({seen['n']})" if "n" in seen else f"shape {tuple(shape or ())}"
            raise IrlkitError(
                f"{z.what} ({z.path}, written by {stack}) was trained with {key.replace('_', ' ')} {saved}, but the "
                f"env here has {_space_text(space)}. Use it with the env it was trained on, or train one for this env."
            )
