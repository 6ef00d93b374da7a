"""Teleoperation: a person (or a stand-in script) drives an env and every finished episode is stored.

    from irlkit.envs import EnvConfig
    from irlkit.teleop import RecorderConfig, record
    summary = record(RecorderConfig(env=cfg, dataset="cartpole_teleop", operator="op-7"))

Modules: `keymap` (the `teleop:` section of env configs), `inputs` (keyboard, gamepad, scripted),
`window` (the pygame window and HUD), `loop` (what every window session shares: the fixed-rate
clock, stop signals, the episode writer), `recorder` (the recording loop), `playback` (replay). The store is written only
through `irlkit.store`; nothing here imports Hydra.
"""

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # keep pygame's banner out of the entries' output

from irlkit.teleop.inputs import (  # noqa: E402
    Control,
    GamepadInput,
    InputDevice,
    KeyboardInput,
    RecorderState,
    ScriptedInput,
    Status,
)
from irlkit.teleop.keymap import ContinuousKeyMap, DiscreteKeyMap, parse_keymap  # noqa: E402
from irlkit.teleop.recorder import Recorder, RecorderConfig, RecordingSummary, record  # noqa: E402

__all__ = [
    "ContinuousKeyMap",
    "Control",
    "DiscreteKeyMap",
    "GamepadInput",
    "InputDevice",
    "KeyboardInput",
    "Recorder",
    "RecorderConfig",
    "RecorderState",
    "RecordingSummary",
    "ScriptedInput",
    "Status",
    "parse_keymap",
    "record",
]
