"""Benchmark: does the teleop recorder hold its frame rate, and what does recording cost per step?

Runs the real recorder (window, HUD, key events, store commits) on seals CartPole at a fixed rate,
with a scripted "person" pressing and releasing the arrow keys through injected pygame events, and
reports:
- frame work time (events, step, render, HUD, flip; the sleep excluded) p50/p99: must stay under
  the frame period (1/60 s at 60 fps) or frames are dropped;
- frame interval (tick to tick, sleep included) p50/p99, and frames dropped;
- recording overhead per step: the recorder's own bookkeeping (action lookup, copying the
  observation, buffering) p50/p99, plus the commit of each episode to the store spread over its steps.

    SDL_VIDEODRIVER=dummy python bench/record_fps.py --fps 60 --episodes 2
    xvfb-run -a python bench/record_fps.py --fps 60 --episodes 2     # a real X display
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument("--episodes", type=int, default=2, help="CartPole episodes of 500 steps each")
    parser.add_argument("--steps", type=int, default=500, help="steps per episode")
    args = parser.parse_args()

    import pygame

    from irlkit.envs import EnvConfig
    from irlkit.teleop import Recorder, RecorderConfig, RecorderState

    env = EnvConfig(
        name="cartpole",
        id="seals/CartPole-v0",
        max_episode_steps=args.steps,
        teleop={"actions": {"left": 0, "right": 1}, "default": 0},
    )
    ticks: list[float] = []
    drivers: list[str] = []

    def person(status) -> None:
        ticks.append(time.perf_counter())
        if not drivers:
            drivers.append(pygame.display.get_driver())
        if status.state is RecorderState.WAITING:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
        elif status.step % 10 == 0:  # alternate left and right every 10 steps, as a person might
            key = pygame.K_LEFT if (status.step // 10) % 2 else pygame.K_RIGHT
            other = pygame.K_RIGHT if key == pygame.K_LEFT else pygame.K_LEFT
            pygame.event.post(pygame.event.Event(pygame.KEYUP, key=other))
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))

    with tempfile.TemporaryDirectory() as tmp:
        cfg = RecorderConfig(
            env=env, dataset=os.path.join(tmp, "bench"), operator="op-bench", episodes=args.episodes, fps=args.fps
        )
        recorder = Recorder(cfg, on_frame=person)
        summary = recorder.run()

    t = {k: np.asarray(v) * 1e3 for k, v in summary.timings.items()}
    intervals = np.diff(np.asarray(ticks)) * 1e3
    steps = len(t["step"])
    commit_per_step = float(t["commit"].sum() / steps) if steps else 0.0

    def pct(a: np.ndarray, q: float) -> float:
        return round(float(np.percentile(a, q)), 3) if len(a) else float("nan")

    report = {
        "fps": args.fps,
        "period_ms": round(1e3 / args.fps, 3),
        "display_driver": drivers[0] if drivers else "?",
        "load_average_1min": round(os.getloadavg()[0], 2),
        "frames": int(len(t["frame"])),
        "steps": steps,
        "episodes_kept": len(summary.kept),
        "frames_dropped": summary.frames_dropped,
        "frame_work_ms_p50": pct(t["frame"], 50),
        "frame_work_ms_p99": pct(t["frame"], 99),
        "frame_work_ms_max": round(float(t["frame"].max()), 3),
        "frame_interval_ms_p50": pct(intervals, 50),
        "frame_interval_ms_p99": pct(intervals, 99),
        "env_step_ms_p50": pct(t["step"], 50),
        "render_and_draw_ms_p50": pct(t["render"], 50),
        "record_overhead_ms_p50": pct(t["record"], 50),
        "record_overhead_ms_p99": pct(t["record"], 99),
        "commit_ms_per_episode_mean": round(float(t["commit"].mean()), 3) if len(t["commit"]) else float("nan"),
        "commit_ms_per_step": round(commit_per_step, 4),
        "python": sys.version.split()[0],
    }
    print(json.dumps(report, indent=1))
    ok = report["frame_work_ms_p99"] < report["period_ms"] and report["record_overhead_ms_p99"] + commit_per_step < 1.0
    print("PASS" if ok else "FAIL", "(p99 frame work under the period; recording overhead under 1 ms per step)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
