"""Lint, format and type checks, run by the same `pytest` command as the rest of the suite.

The tools come with the test extra (pyproject's `test`: ruff and mypy); a missing tool fails the
check instead of skipping it, so a CI job without them cannot pass silently.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from conftest import REPO

PATHS = ["irlkit", "bench", "tests", "scripts"]


def _run(module: str, args: list[str], timeout: int = 300) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.fail(
            f"{module} is not installed: install the test extra (pip install -e '.[test]', "
            "or bash scripts/install.sh test)"
        )
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        pytest.fail(
            f"`{module} {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )


def test_ruff_check():
    _run("ruff", ["check", *PATHS])


def test_ruff_format():
    """`ruff format irlkit bench tests scripts` fixes what this reports."""
    _run("ruff", ["format", "--check", *PATHS])


def test_mypy():
    """The files and settings are pyproject's `[tool.mypy]`."""
    _run("mypy", [])
