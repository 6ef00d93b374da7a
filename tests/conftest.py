"""Shared fixtures: headless pygame, quiet progress bars, a throwaway store root."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    # A background job of a non-interactive shell (`cmd &` in a script) starts with SIGINT ignored,
    # and every process it starts inherits that; the tests that stop runs with SIGINT need it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty store root used instead of the shipped demos for anything that writes."""
    root = tmp_path / "store"
    root.mkdir()
    monkeypatch.setenv("IRLKIT_DEMOS", str(root))
    return root


def run_cli(args: list[str], cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    """Run `python -m ...` as a user would; returns the CompletedProcess."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd or REPO, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def compose_config(config_name: str = "config", overrides: list[str] | tuple[str, ...] = ()):
    """Hydra's composed config for a command line, as the command composes it."""
    from irlkit.cli.app import config_dir
    from irlkit.cli.overrides import compose
    from irlkit.cli.schemas import register_schemas

    register_schemas()
    return compose(config_dir(), config_name, list(overrides))


def run_config(overrides: list[str] | tuple[str, ...] = ()):
    """The typed `RunConfig` that `python -m irlkit <overrides>` trains with."""
    from irlkit.cli.runconfig import run_config as to_run_config

    return to_run_config(compose_config("config", overrides), list(overrides))
