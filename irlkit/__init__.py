"""irlkit: learn rewards and policies from human feedback (demonstrations, preferences, corrections)."""

from irlkit.signals import keep_sdl_off_signals as _keep_sdl_off_signals

__version__ = "0.1.0"

_keep_sdl_off_signals()  # before anything can start pygame (irlkit/signals.py says why)
