"""Command-line entries that are not the package's own `__main__` (they touch Hydra; nothing else does)."""
