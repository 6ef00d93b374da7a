"""The pygame window shared by the recorder and replay: env frames scaled to fit, with a HUD below.

Frames come from the env's `rgb_array` render (the same pixels for every display driver), so the
window works under X11, Wayland, macOS, Windows and the headless `dummy` driver alike.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from irlkit.envs.stacks import fix_pendulum_render
from irlkit.errors import IrlkitError

HUD_LINE = 22
MIN_WIDTH = 600
HUD_COLOUR = (235, 235, 235)
HUD_BACKGROUND = (25, 25, 30)
STATE_COLOURS = {
    "waiting": (250, 200, 60),
    "recording": (235, 70, 70),
    "paused": (120, 160, 250),
    "replay": (120, 220, 120),
}


NO_DISPLAY_HINT = (
    "Run from a desktop session (DISPLAY or WAYLAND_DISPLAY set), under Xvfb "
    "(xvfb-run -a python -m irlkit.record ...), or headless with SDL_VIDEODRIVER=dummy."
)


def init_display() -> None:
    """Start SDL's video subsystem only: pygame.init() would open audio too (and print ALSA errors on
    machines without a sound card) for nothing."""
    import pygame

    if pygame.display.get_init():
        return
    try:
        pygame.display.init()
    except pygame.error as err:
        raise IrlkitError(f"cannot start the display: {err}. {NO_DISPLAY_HINT}") from None


class Window:
    """A window titled `irlkit – <what> – <env>` that shows frames and a few lines of status."""

    def __init__(
        self, title: str, frame_shape: Sequence[int], *, max_size: tuple[int, int] = (960, 640), hud_lines: int = 3
    ):
        import pygame

        init_display()
        pygame.font.init()
        h, w = int(frame_shape[0]), int(frame_shape[1])
        self.hud_height = HUD_LINE * hud_lines + 8
        # Shrink frames that do not fit; enlarge only small ones (short side to 320 px). Enlarging
        # a 600x400 frame buys nothing and costs every frame's transfer to the display server.
        fit = min(max_size[0] / w, (max_size[1] - self.hud_height) / h)
        scale = min(fit, max(1.0, 320.0 / min(w, h)))
        self.frame_size = (max(1, int(w * scale)), max(1, int(h * scale)))
        # At least MIN_WIDTH wide so the HUD's key legend fits beside narrow frames (Pendulum is 500 px).
        self.width = max(self.frame_size[0], MIN_WIDTH)
        self.frame_x = (self.width - self.frame_size[0]) // 2
        size = (self.width, self.frame_size[1] + self.hud_height)
        try:
            self.screen = pygame.display.set_mode(size)
        except pygame.error as err:
            raise IrlkitError(f"cannot open a window: {err}. {NO_DISPLAY_HINT}") from None
        pygame.display.set_caption(title)
        self.title = title
        self.font = pygame.font.Font(None, 24)
        self._text_cache: dict[tuple[str, tuple[int, int, int]], Any] = {}

    def _text(self, text: str, colour: tuple[int, int, int]) -> Any:
        # Rendering text is the HUD's main cost; most lines repeat from frame to frame.
        key = (text, colour)
        surf = self._text_cache.get(key)
        if surf is None:
            if len(self._text_cache) > 512:
                self._text_cache.clear()
            surf = self.font.render(text, True, colour)
            self._text_cache[key] = surf
        return surf

    def show(self, frame: np.ndarray, lines: Sequence[str], *, state: Optional[str] = None) -> None:
        """Draw one frame and the HUD lines; the first line is coloured by `state`."""
        import pygame

        frame = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
        surf = pygame.image.frombuffer(frame.tobytes(), (frame.shape[1], frame.shape[0]), "RGB")
        if surf.get_size() != self.frame_size:
            surf = pygame.transform.scale(surf, self.frame_size)
        if self.frame_x:
            self.screen.fill(HUD_BACKGROUND, (0, 0, self.width, self.frame_size[1]))
        self.screen.blit(surf, (self.frame_x, 0))
        self.screen.fill(HUD_BACKGROUND, (0, self.frame_size[1], self.width, self.hud_height))
        y = self.frame_size[1] + 4
        for i, line in enumerate(lines):
            colour = STATE_COLOURS.get(state or "", HUD_COLOUR) if i == 0 else HUD_COLOUR
            self.screen.blit(self._text(line, colour), (8, y))
            y += HUD_LINE
        pygame.display.flip()

    def close(self) -> None:
        import pygame

        pygame.display.quit()


def render_frame(env: Any, *, what: str) -> np.ndarray:
    """`env.render()` as an (H, W, 3) uint8 array, or an error naming the env and what it returned."""
    fix_pendulum_render(env)  # gymnasium 0.29 + numpy 2 only
    try:
        frame = env.render()
    except (ValueError, TypeError, AttributeError, NotImplementedError, RuntimeError) as err:
        raise IrlkitError(
            f"{what} cannot render frames: env.render() failed with {type(err).__name__}: {err}"
        ) from None
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise IrlkitError(
            f"{what} cannot render frames: with render_mode='rgb_array' env.render() returned "
            f"{type(frame).__name__}{getattr(frame, 'shape', '')}, not an (H, W, 3) image. Teleop and replay need an env "
            "that renders rgb_array frames."
        )
    return frame
