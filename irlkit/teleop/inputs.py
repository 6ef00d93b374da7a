"""Input devices: each turns what happened since the last frame into an action and control events.

The recorder asks every device the same two things once per frame: `handle(events, status)` (the
pygame events of this frame, answered with `Control`s such as start/pause, keep, re-record, quit)
and `action(obs)` (the action to send this step). A person at a keyboard or gamepad and a scripted
policy standing in for one are therefore interchangeable, which is what a corrections loop needs:
a `ScriptedInput` proposes actions and a person can still pause or quit from the keyboard.

Key state is tracked from KEYDOWN/KEYUP events rather than `pygame.key.get_pressed()`: injected
events (tests, remote control) do not update SDL's keyboard state, and tracking the order of
presses lets the latest key win when two are held.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from typing import Any, Callable, Optional, Sequence

import numpy as np

from irlkit.errors import IrlkitError
from irlkit.teleop.keymap import ContinuousKeyMap, ContinuousRamp, DiscreteKeyMap, KeyMap, describe_keys


class Control(enum.Enum):
    """What a person (or script) asks of the recording, besides the action itself."""

    START_PAUSE = "start_pause"
    """Start the episode when waiting; otherwise pause or resume (Space)."""
    KEEP = "keep"
    """End the episode now and keep it, marked truncated by the operator (Enter)."""
    RERECORD = "rerecord"
    """Drop the episode in progress and restart it from the same seed (Backspace)."""
    DISCARD = "discard"
    """Drop the episode in progress (or the waiting start state) and move on to a fresh seed (Delete)."""
    QUIT = "quit"
    """Stop recording; finished episodes are already stored (Escape, or closing the window)."""


class RecorderState(enum.Enum):
    WAITING = "waiting"
    RECORDING = "recording"
    PAUSED = "paused"


@dataclasses.dataclass(frozen=True)
class Status:
    """What a device (and a frame hook) can see of the recorder at the start of a frame."""

    state: RecorderState
    episode: int
    """Index of the episode being recorded, counting kept episodes of this session from 0."""
    step: int
    """Steps taken in the current episode so far."""
    frame: int
    """Frames shown since the recorder started."""
    kept: int
    """Episodes committed to the store in this session."""
    episode_return: float = 0.0


def control_keys() -> dict[int, Control]:
    """Keyboard keys that control the recording; reserved in every key map."""
    import pygame

    return {
        pygame.K_SPACE: Control.START_PAUSE,
        pygame.K_RETURN: Control.KEEP,
        pygame.K_KP_ENTER: Control.KEEP,
        pygame.K_BACKSPACE: Control.RERECORD,
        pygame.K_DELETE: Control.DISCARD,
        pygame.K_ESCAPE: Control.QUIT,
    }


CONTROL_LEGEND = "Space start/pause  Enter keep  Bksp re-record  Del discard  Esc quit"


class InputDevice(abc.ABC):
    """One source of actions and controls for the recorder."""

    device: str = "unknown"
    """Stored as the episode's `device` (keyboard, gamepad, or the script's name)."""

    @abc.abstractmethod
    def handle(self, events: Sequence[Any], status: Status) -> list[Control]:
        """Consume this frame's pygame events; return the controls they ask for, in order."""

    @abc.abstractmethod
    def action(self, obs: Any) -> Any:
        """The action for the step about to be taken from `obs` (called once per env step)."""

    def reset(self) -> None:  # noqa: B027 (an optional hook: devices without per-episode state keep it)
        """A new episode (or attempt) starts: forget ramps and other per-episode state."""

    def close(self) -> None:  # noqa: B027 (an optional hook: most devices hold nothing to release)
        """Release the device."""

    def legend(self) -> str:
        """Short text for the HUD saying which keys drive the env."""
        return ""


class KeyboardInput(InputDevice):
    """Arrow keys (or any mapped keys) through an env's key map; event-driven key state."""

    device = "keyboard"

    def __init__(self, keymap: KeyMap, *, fps: float):
        self.keymap = keymap
        self.held: list[int] = []
        self._controls = control_keys()
        self._ramp = ContinuousRamp(keymap, fps) if isinstance(keymap, ContinuousKeyMap) else None

    def handle(self, events: Sequence[Any], status: Status) -> list[Control]:
        import pygame

        out: list[Control] = []
        for event in events:
            if event.type == pygame.KEYDOWN:
                if event.key in self._controls:
                    out.append(self._controls[event.key])
                elif event.key not in self.held:
                    self.held.append(event.key)
            elif event.type == pygame.KEYUP:
                if event.key in self.held:
                    self.held.remove(event.key)
            elif event.type == pygame.WINDOWFOCUSLOST:
                # A key released while another window has focus sends no KEYUP: never let it stick.
                self.held.clear()
        return out

    def action(self, obs: Any) -> Any:
        return action_from_keys(self.keymap, self.held, self._ramp)

    def reset(self) -> None:
        if self._ramp is not None:
            self._ramp.reset()

    def legend(self) -> str:
        return describe_keys(self.keymap)


def action_from_keys(keymap: KeyMap, held: Sequence[int], ramp: Optional[ContinuousRamp]) -> Any:
    if isinstance(keymap, DiscreteKeyMap):
        return np.int64(keymap.action(held))
    assert ramp is not None
    return ramp.step(keymap.targets(held))


class GamepadInput(InputDevice):
    """A gamepad: sticks (with a dead zone) for continuous actions, buttons for discrete ones.

    The d-pad acts as the arrow keys of the env's key map, so every env with a key map can be driven
    from a gamepad without extra configuration. Start pauses/resumes, Back re-records, and the
    keyboard's control keys keep working. State is tracked from JOY* events, like the keyboard's.
    """

    device = "gamepad"

    def __init__(
        self,
        keymap: KeyMap,
        *,
        fps: float,
        index: int = 0,
        require_device: bool = True,
        control_buttons: Optional[dict[int, Control]] = None,
    ):
        import pygame

        pygame.joystick.init()
        count = pygame.joystick.get_count()
        self.joystick = None
        if count > index:
            self.joystick = pygame.joystick.Joystick(index)
            self.joystick.init()
        elif require_device:
            raise IrlkitError(
                f"no gamepad found: pygame sees {count} joystick(s) and gamepad {index} was asked for. Plug one in "
                "(and check it shows in `ls /dev/input/js*` or the OS's game controller settings), or record "
                "with input=keyboard."
            )
        self.instance_id = self.joystick.get_instance_id() if self.joystick is not None else index
        self.keymap = keymap
        self.control_buttons = (
            {7: Control.START_PAUSE, 6: Control.RERECORD} if control_buttons is None else dict(control_buttons)
        )
        if isinstance(keymap, DiscreteKeyMap):
            clash = sorted(set(keymap.buttons) & set(self.control_buttons))
            if clash:
                raise IrlkitError(
                    f"gamepad buttons {clash} both drive the env and control the recording; map other buttons"
                )
        self.axes: dict[int, float] = {}
        self.buttons: list[int] = []
        self.hat: tuple[int, int] = (0, 0)
        self._keys = control_keys()
        self._ramp = ContinuousRamp(keymap, fps) if isinstance(keymap, ContinuousKeyMap) else None

    def handle(self, events: Sequence[Any], status: Status) -> list[Control]:
        import pygame

        out: list[Control] = []
        for event in events:
            if event.type == pygame.JOYAXISMOTION:
                self.axes[event.axis] = float(event.value)
            elif event.type == pygame.JOYBUTTONDOWN:
                if event.button in self.control_buttons:
                    out.append(self.control_buttons[event.button])
                elif event.button not in self.buttons:
                    self.buttons.append(event.button)
            elif event.type == pygame.JOYBUTTONUP:
                if event.button in self.buttons:
                    self.buttons.remove(event.button)
            elif event.type == pygame.JOYHATMOTION:
                self.hat = tuple(event.value)  # type: ignore[assignment]
            elif event.type == pygame.KEYDOWN and event.key in self._keys:
                out.append(self._keys[event.key])
            elif event.type == pygame.JOYDEVICEREMOVED:
                if getattr(event, "instance_id", None) == self.instance_id:
                    # An unplugged pad must not leave its last stick position driving the env.
                    self.axes.clear()
                    self.buttons.clear()
                    self.hat = (0, 0)
                    if status.state is RecorderState.RECORDING:
                        out.append(Control.START_PAUSE)
        return out

    def _hat_keys(self) -> list[int]:
        import pygame

        x, y = self.hat
        keys = []
        if x < 0:
            keys.append(pygame.K_LEFT)
        elif x > 0:
            keys.append(pygame.K_RIGHT)
        if y > 0:
            keys.append(pygame.K_UP)
        elif y < 0:
            keys.append(pygame.K_DOWN)
        return keys

    def stick(self, axis: int) -> float:
        """The stick value with the dead zone cut out and the rest rescaled to [-1, 1]."""
        dz = self.keymap.dead_zone if isinstance(self.keymap, ContinuousKeyMap) else 0.5
        v = self.axes.get(axis, 0.0)
        if abs(v) <= dz:
            return 0.0
        return float(np.sign(v) * min(1.0, (abs(v) - dz) / (1.0 - dz)))

    def action(self, obs: Any) -> Any:
        import pygame

        km = self.keymap
        if isinstance(km, DiscreteKeyMap):
            for button in reversed(self.buttons):
                if button in km.buttons:
                    return np.int64(km.buttons[button])
            keys = self._hat_keys()
            x = self.stick(0)
            if not keys and x != 0.0:
                keys = [pygame.K_LEFT if x < 0 else pygame.K_RIGHT]
            return np.int64(km.action(keys))
        assert self._ramp is not None
        targets = km.targets(self._hat_keys())
        value = self._ramp.step(targets)
        sticks = np.array(
            [self.stick(a.gamepad_axis if a.gamepad_axis is not None else i) * a.size for i, a in enumerate(km.axes)]
        )
        return km.clip(np.where(sticks != 0.0, sticks, value))

    def reset(self) -> None:
        if self._ramp is not None:
            self._ramp.reset()

    def close(self) -> None:
        if self.joystick is not None:
            self.joystick.quit()

    def legend(self) -> str:
        name = self.joystick.get_name() if self.joystick is not None else "gamepad"
        return f"{name}: stick/d-pad drive, Start pause, Back re-record"


class ScriptedInput(InputDevice):
    """A callable policy in the operator's seat: `policy(obs) -> action`.

    Used to record scripted demonstrations through the same loop, and by a corrections loop where a
    learner proposes actions. Keyboard control keys still work, so a watching person can pause,
    re-record or quit. `controls(status)` may return further controls each frame (for example KEEP
    after a fixed number of steps); with `autostart` each episode starts without waiting for Space.
    """

    def __init__(
        self,
        policy: Callable[[Any], Any],
        *,
        device: str = "script",
        autostart: bool = True,
        controls: Optional[Callable[[Status], Sequence[Control]]] = None,
    ):
        self.policy = policy
        self.device = device
        self.autostart = autostart
        self.controls = controls
        self._keys = control_keys()

    def handle(self, events: Sequence[Any], status: Status) -> list[Control]:
        import pygame

        out = [self._keys[e.key] for e in events if e.type == pygame.KEYDOWN and e.key in self._keys]
        if self.autostart and status.state is RecorderState.WAITING and not out:
            out.append(Control.START_PAUSE)
        if self.controls is not None:
            out.extend(self.controls(status))
        return out

    def action(self, obs: Any) -> Any:
        return self.policy(obs)

    def legend(self) -> str:
        return f"driven by {self.device}"
