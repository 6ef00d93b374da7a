"""irlkit: learn rewards and policies from human feedback (demonstrations, preferences, corrections)."""

__version__ = "0.1.0"
