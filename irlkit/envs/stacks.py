"""What differs between the two supported stacks, in one place.

irlkit runs on the *current* stack (gymnasium 1.x, stable-baselines3 >= 2.7; what
`scripts/install.sh` installs) and on the *pinned* one (gymnasium 0.29.1, stable-baselines3 2.2.1:
imitation 1.0.1's own pins, what a plain `pip install .` resolves to). Both run with numpy 2, which
gymnasium 0.29.1 predates. Every workaround for that combination lives here and applies only there,
so it can be deleted with the pinned stack.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from irlkit.errors import IrlkitError

GYMNASIUM_1 = int(gym.__version__.split(".")[0]) >= 1
"""True on the current stack (gymnasium 1.x), False on the pinned one (gymnasium 0.29)."""

NUMPY_2 = int(np.__version__.split(".")[0]) >= 2

_PINNED_IDS = {
    # gymnasium 1.0 renamed these (box2d envs fixed and bumped to v3); the pinned stack has only v2.
    "LunarLander-v3": "LunarLander-v2",
    "LunarLanderContinuous-v3": "LunarLanderContinuous-v2",
    "CarRacing-v3": "CarRacing-v2",
}

BROKEN_ON_PINNED_NUMPY_2 = {
    "Acrobot-v1": "gymnasium 0.29.1's acrobot.py calls np.float_, which numpy 2 removed",
    "LunarLanderContinuous-v2": "gymnasium 0.29.1 hands numpy floats to Box2D's b2Vec2, which the box2d wheel refuses",
}
"""Envs whose dynamics crash on gymnasium 0.29.1 with numpy 2 (measured; both run on gymnasium 1.x)."""

BROKEN_ON_PINNED_MUJOCO_4 = {
    "Swimmer-v4": "gymnasium 0.29.1's swimmer.xml sets <option collision=...>, an attribute MuJoCo 4 refuses",
    "seals/Swimmer-v1": "it loads gymnasium 0.29.1's swimmer.xml, whose <option collision=...> MuJoCo 4 refuses",
}
"""Envs whose model file MuJoCo 4 refuses on gymnasium 0.29.1 (measured with mujoco 4.0.0; gymnasium 1.x's loads;
the other seals MuJoCo envs load)."""


def _mujoco_major() -> int:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("mujoco").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 0


def stack_env_id(env_id: str) -> str:
    """The id this stack registers for an env that gymnasium 1.x renamed (`LunarLander-v3` is
    `LunarLander-v2` on gymnasium 0.29); other ids unchanged. Shipped env configs use it through
    the `${irlkit.stack_id:...}` resolver, so `env=lunar_lander` works on both stacks."""
    if GYMNASIUM_1:
        return env_id
    return _PINNED_IDS.get(env_id, env_id)


def refuse_broken_env(env_id: str) -> None:
    """One paragraph, before any step crashes, for envs this stack cannot run."""
    base = env_id.split(":")[-1]
    if GYMNASIUM_1:
        return
    if NUMPY_2 and base in BROKEN_ON_PINNED_NUMPY_2:
        raise IrlkitError(
            f"env {env_id!r} does not run on this stack (gymnasium {gym.__version__} with numpy {np.__version__}): "
            f"{BROKEN_ON_PINNED_NUMPY_2[base]}. Use the current stack (`bash scripts/install.sh` installs gymnasium "
            "1.x, where it works), or install numpy<2 into this virtualenv."
        )
    if base in BROKEN_ON_PINNED_MUJOCO_4 and _mujoco_major() >= 4:
        raise IrlkitError(
            f"env {env_id!r} does not run on this stack (gymnasium {gym.__version__} with mujoco {_mujoco_major()}.x): "
            f"{BROKEN_ON_PINNED_MUJOCO_4[base]}. Use the current stack (`bash scripts/install.sh` installs "
            "gymnasium 1.x, where it works), or an older mujoco into this virtualenv."
        )


def fix_pendulum_render(env: Any) -> None:
    """gymnasium 0.29.1's Pendulum renderer under numpy 2 (render only, dynamics untouched).

    Pendulum keeps the last torque as a numpy float32 (`last_u`) and hands it to pygame as the size
    of the torque arrow; pygame refuses numpy scalars there ("size must be two numbers"), so every
    frame after the first step fails. A Python float draws the same arrow. gymnasium 1.x casts it
    itself: there this does nothing.
    """
    if GYMNASIUM_1:
        return
    base = getattr(env, "unwrapped", env)
    last_u = getattr(base, "last_u", None)
    if isinstance(last_u, np.generic):
        base.last_u = float(last_u)
