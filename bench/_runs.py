"""Running the real `python -m irlkit ...` command line from a benchmark script, one run at a time.

The benchmarks time and score what a user runs, so each run is a subprocess of the command line;
this is the one place that starts it, fails loudly with the run's own error, and reads its eval.json.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent


def run_irlkit(
    cmd: Sequence[str], run_dir: Path, *, env: Optional[dict[str, str]] = None, what: str = ""
) -> tuple[dict[str, Any], float, float]:
    """Run `cmd` (a full argv) from the repo root; returns (eval.json, wall seconds, CPU seconds).

    CPU seconds are user + system time of the command, which, unlike wall time, do not grow with
    other jobs' load on a shared machine. A failed run ends the benchmark with its stderr tail."""
    run_env = {**os.environ, "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "dummy"), **(env or {})}
    t0 = time.time()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(list(cmd), cwd=REPO, env=run_env, capture_output=True, text=True, check=False)
    wall = time.time() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{what or ' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return json.loads((Path(run_dir) / "eval.json").read_text()), wall, cpu
