"""Key maps: how held keys (or gamepad buttons and sticks) become an env action.

A key map lives in the `teleop:` section of an env config (`conf/env/<name>.yaml`), so the keys a
person uses are versioned with the env they drive. Two forms, picked by the env's action space:

Discrete actions (`Discrete(n)`)::

    teleop:
      actions: {left: 0, right: 2}   # pygame key name -> action index
      default: 1                  # sent while no mapped key is held (the env's no-op)
      gamepad:
        buttons: {0: 2, 2: 0}     # optional: gamepad button index -> action index

Continuous actions (`Box` of shape `(n,)`), one entry per action dimension::

    teleop:
      axes:
        - negative: left          # key for the negative direction
          positive: right         # key for the positive direction
          size: 1.0               # value sent while a key is held
          ramp_s: 0.0             # 0: bang-bang; >0: seconds to ramp from 0 to `size`
          gamepad_axis: 0         # optional: which gamepad stick axis drives this dimension
      dead_zone: 0.15             # optional: gamepad stick values below this count as zero

With no key held a continuous action is zero.

An env without a `teleop:` section (any `env=gym env.id=...`) gets the default map of its action
space (`default_teleop`), shown in the window's HUD:

- `Discrete(n)`, n <= 10: digit keys `0`..`9` pick actions 0..n-1; for n = 2 also left/right for 0/1
  (CartPole's convention); for n = 3 also left/right for 0/2 with 1 sent while no key is held (the
  classic-control convention of MountainCar and Acrobot: push left, none, push right). With no key
  held: action 1 for n = 3, else action 0.
- `Box` of shape `(1,)` or `(2,)`: left/right drive dimension 0, down/up dimension 1, bang-bang at the
  largest finite bound (1.0 when unbounded).

Anything else (more actions or dimensions, other spaces) needs a `teleop:` section or
`'+env.teleop={...}'` on the command line. (The map is not called `keys`: that name collides
with `DictConfig.keys()`, and Hydra could then not override it from the command line.) Space, Enter, Backspace, Delete and Escape control
the recording (see `irlkit.teleop.inputs.control_keys`) and cannot be mapped.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from gymnasium import spaces

from irlkit.errors import IrlkitError


def _example(space: spaces.Space) -> str:
    if isinstance(space, spaces.Discrete):
        return "teleop:\n  actions: {left: 0, right: 1}\n  default: 0"
    return "teleop:\n  axes:\n    - {negative: left, positive: right, size: 1.0, ramp_s: 0.0}"


def _cli_example(space: spaces.Space) -> str:
    if isinstance(space, spaces.Discrete):
        return "'+env.teleop={actions: {left: 0, right: 1}, default: 0}'"
    return "'+env.teleop={axes: [{negative: left, positive: right, size: 1.0}]}'"


def key_code(name: str, *, where: str) -> int:
    """The pygame key code for a key name as pygame spells it (`left`, `a`, `left shift`)."""
    import pygame

    from irlkit.teleop.window import init_display

    init_display()  # key names resolve through SDL's video subsystem
    if not isinstance(name, str):
        raise IrlkitError(f"{where}: key {name!r} is not a key name; use pygame's names such as 'left', 'a', 'up'")
    try:
        code = pygame.key.key_code(name)
    except ValueError:
        raise IrlkitError(
            f"{where}: unknown key name {name!r}; use pygame's key names such as 'left', 'right', 'up', "
            "'down', 'a', 'left shift' (see pygame.key.name)"
        ) from None
    from irlkit.teleop.inputs import control_keys

    reserved = control_keys()  # the one list of keys that control the recording
    if code in reserved:
        names = ", ".join(pygame.key.name(k) for k in reserved)
        raise IrlkitError(f"{where}: key {name!r} controls the recording ({names} are reserved); map another key")
    return code


@dataclasses.dataclass(frozen=True)
class DiscreteKeyMap:
    """Key code -> action index, and the action sent while none of them is held."""

    keys: Mapping[int, int]
    default: int
    buttons: Mapping[int, int] = dataclasses.field(default_factory=dict)
    """Gamepad button -> action index."""

    def action(self, held_keys: Sequence[int]) -> int:
        """The action of the most recently pressed mapped key still held, else `default`.

        Most-recent-wins lets a person switch direction without lifting the first key, which is
        how people drive CartPole in practice.
        """
        for code in reversed(held_keys):
            if code in self.keys:
                return self.keys[code]
        return self.default


@dataclasses.dataclass(frozen=True)
class AxisMap:
    """One continuous action dimension driven by a pair of keys (and optionally a stick axis)."""

    negative: int
    positive: int
    size: float
    ramp_s: float = 0.0
    gamepad_axis: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class ContinuousKeyMap:
    """Key pairs -> a Box action, bang-bang or ramped, zero when nothing is held."""

    axes: tuple[AxisMap, ...]
    low: np.ndarray
    high: np.ndarray
    dtype: np.dtype
    dead_zone: float = 0.15

    def targets(self, held_keys: Sequence[int]) -> np.ndarray:
        """The value each axis is heading for: ±size while its key is held (latest key wins)."""
        out = np.zeros(len(self.axes), dtype=np.float64)
        for i, axis in enumerate(self.axes):
            for code in reversed(held_keys):
                if code == axis.positive:
                    out[i] = axis.size
                    break
                if code == axis.negative:
                    out[i] = -axis.size
                    break
        return out

    def clip(self, value: np.ndarray) -> np.ndarray:
        return np.clip(value, self.low, self.high).astype(self.dtype)


KeyMap = DiscreteKeyMap | ContinuousKeyMap


class ContinuousRamp:
    """Moves each axis toward its target by `size / (ramp_s * fps)` per step; releases drop to zero.

    Ramping is counted in env steps (not wall time), so a recording is reproducible from the key
    timeline alone and does not depend on how busy the machine was.
    """

    def __init__(self, keymap: ContinuousKeyMap, fps: float):
        self.keymap = keymap
        self.fps = float(fps)
        self.value = np.zeros(len(keymap.axes), dtype=np.float64)

    def reset(self) -> None:
        self.value[:] = 0.0

    def step(self, targets: np.ndarray) -> np.ndarray:
        for i, axis in enumerate(self.keymap.axes):
            target = targets[i]
            if target == 0.0 or axis.ramp_s <= 0.0:
                self.value[i] = target
                continue
            rate = axis.size / (axis.ramp_s * self.fps)
            delta = np.clip(target - self.value[i], -rate, rate)
            self.value[i] = self.value[i] + delta
        return self.keymap.clip(self.value)


MAX_DEFAULT_DISCRETE = 10
"""Discrete envs up to this many actions get digit keys by default."""


def default_teleop(action_space: spaces.Space) -> Optional[dict[str, Any]]:
    """The default `teleop:` section for an action space (see the module docstring), or None."""
    if isinstance(action_space, spaces.Discrete) and 1 <= int(action_space.n) <= MAX_DEFAULT_DISCRETE:
        n, start = int(action_space.n), int(action_space.start)
        actions: dict[str, int] = {str(i): start + i for i in range(n)}
        default = start
        if n == 2:
            actions.update(left=start, right=start + 1)
        elif n == 3:
            actions.update(left=start, right=start + 2)
            default = start + 1
        return {"actions": actions, "default": default}
    if isinstance(action_space, spaces.Box) and action_space.shape in ((1,), (2,)):
        axes = []
        for i, (negative, positive) in enumerate((("left", "right"), ("down", "up"))[: action_space.shape[0]]):
            low, high = float(action_space.low[i]), float(action_space.high[i])
            finite = [abs(b) for b in (low, high) if np.isfinite(b)]
            axes.append(
                {"negative": negative, "positive": positive, "size": max(finite) if finite else 1.0, "ramp_s": 0.0}
            )
        return {"axes": axes}
    return None


def parse_keymap(teleop: Mapping[str, Any], action_space: spaces.Space, *, env_name: str, env_id: str = "") -> KeyMap:
    """Validate an env config's `teleop:` section against the env's action space.

    Every error names the env, the key at fault and the YAML file to edit, because a key map is
    the one thing a new env needs before anyone can record on it.
    """
    where = f"env {env_name!r}" + (f" ({env_id})" if env_id else "") + f": teleop key map in conf/env/{env_name}.yaml"
    teleop = dict(teleop or {}) or dict(default_teleop(action_space) or {})
    if not teleop:
        raise IrlkitError(
            f"env {env_name!r}"
            + (f" ({env_id})" if env_id else "")
            + " has no key map for teleoperation, and irlkit's "
            f"default maps cover only Discrete(n <= {MAX_DEFAULT_DISCRETE}) and Box actions of shape (1,) or (2,). Add a "
            f"`teleop:` section to conf/env/{env_name}.yaml for its action space {action_space}, for example:\n"
            f"{_example(action_space)}\nor give one for a single run: {_cli_example(action_space)}"
        )
    if isinstance(action_space, spaces.Discrete):
        return _parse_discrete(teleop, action_space, where)
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        return _parse_continuous(teleop, action_space, where)
    raise IrlkitError(
        f"{where}: action space {action_space} cannot be driven by keys; teleop supports Discrete(n) and "
        "1-D Box action spaces"
    )


def _check_keys(teleop: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(teleop) - allowed)
    if unknown:
        raise IrlkitError(f"{where}: unknown entries {unknown}; this action space takes {sorted(allowed)}")


def _int(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise IrlkitError(f"{where}: {what} must be an integer, got {value!r}")
    return int(value)


def _parse_discrete(teleop: Mapping[str, Any], space: spaces.Discrete, where: str) -> DiscreteKeyMap:
    _check_keys(teleop, {"actions", "default", "gamepad"}, where)
    n, start = int(space.n), int(space.start)
    valid = f"{start}..{start + n - 1}"

    def action(value: Any, what: str) -> int:
        a = _int(value, what, where)
        if not start <= a < start + n:
            raise IrlkitError(f"{where}: {what} is {a}, outside the env's actions {valid}")
        return a

    keys_cfg = teleop.get("actions")
    if not isinstance(keys_cfg, Mapping) or not keys_cfg:
        raise IrlkitError(
            f"{where}: `actions` must map key names to actions ({valid}), e.g. actions: {{left: 0, right: 1}}"
        )
    if "default" not in teleop:
        raise IrlkitError(
            f"{where}: `default` is missing: the action sent while no key is held (the env's no-op, one of {valid})"
        )
    keys = {key_code(str(k), where=where): action(v, f"actions.{k}") for k, v in keys_cfg.items()}
    default = action(teleop["default"], "default")
    gamepad = dict(teleop.get("gamepad") or {})
    _check_keys(gamepad, {"buttons"}, where + " (gamepad)")
    buttons = {
        _int(b, "gamepad button", where): action(a, f"gamepad.buttons.{b}")
        for b, a in dict(gamepad.get("buttons") or {}).items()
    }
    return DiscreteKeyMap(keys=keys, default=default, buttons=buttons)


def _parse_continuous(teleop: Mapping[str, Any], space: spaces.Box, where: str) -> ContinuousKeyMap:
    _check_keys(teleop, {"axes", "dead_zone"}, where)
    axes_cfg = teleop.get("axes")
    dims = int(space.shape[0])
    if not isinstance(axes_cfg, Sequence) or isinstance(axes_cfg, str) or len(axes_cfg) != dims:
        raise IrlkitError(
            f"{where}: `axes` must list one entry per action dimension ({dims} for {space}), each like "
            "{negative: left, positive: right, size: 1.0, ramp_s: 0.0}"
        )
    axes = []
    for i, axis in enumerate(axes_cfg):
        at = f"{where}, axes[{i}]"
        axis = dict(axis or {})
        _check_keys(axis, {"negative", "positive", "size", "ramp_s", "gamepad_axis"}, at)
        missing = [name for name in ("negative", "positive") if axis.get(name) is None]
        if missing:
            raise IrlkitError(
                f"{at}: {' and '.join(missing)} key missing; give both, e.g. {{negative: left, positive: right}}"
            )
        size = float(axis.get("size", 1.0))
        ramp_s = float(axis.get("ramp_s", 0.0))
        if size <= 0 or ramp_s < 0:
            raise IrlkitError(f"{at}: `size` must be > 0 and `ramp_s` >= 0 (got size={size}, ramp_s={ramp_s})")
        low, high = float(space.low[i]), float(space.high[i])
        if np.isfinite(high) and size > max(abs(low), abs(high)):
            raise IrlkitError(
                f"{at}: size {size} exceeds the action bounds [{low}, {high}]; use at most {max(abs(low), abs(high))}"
            )
        gp = axis.get("gamepad_axis")
        axes.append(
            AxisMap(
                negative=key_code(str(axis["negative"]), where=at),
                positive=key_code(str(axis["positive"]), where=at),
                size=size,
                ramp_s=ramp_s,
                gamepad_axis=None if gp is None else _int(gp, "gamepad_axis", at),
            )
        )
    dead_zone = float(teleop.get("dead_zone", 0.15))
    if not 0.0 <= dead_zone < 1.0:
        raise IrlkitError(f"{where}: dead_zone must be in [0, 1), got {dead_zone}")
    return ContinuousKeyMap(
        axes=tuple(axes),
        low=np.asarray(space.low, dtype=np.float64),
        high=np.asarray(space.high, dtype=np.float64),
        dtype=np.dtype(space.dtype),
        dead_zone=dead_zone,
    )


def describe_keys(keymap: KeyMap) -> str:
    """A one-line legend of the driving keys for the window's HUD and the help text."""
    import pygame

    if isinstance(keymap, DiscreteKeyMap):
        parts = [f"{pygame.key.name(c)}={a}" for c, a in keymap.keys.items()]
        return " ".join(parts) + f" (none={keymap.default})"
    parts = []
    for i, axis in enumerate(keymap.axes):
        mode = "" if axis.ramp_s <= 0 else f", ramp {axis.ramp_s:g}s"
        neg, pos = pygame.key.name(axis.negative), pygame.key.name(axis.positive)
        parts.append(f"{neg}/{pos} = action[{i}] -/+{axis.size:g}{mode}")
    return "; ".join(parts)
