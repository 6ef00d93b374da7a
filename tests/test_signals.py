"""SIGTERM and SIGINT stop irlkit's commands promptly and cleanly, even after SDL rendered something."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_feedback import _start_human_run, post_label, queued, request

from conftest import REPO, run_cli
from irlkit.store.preferences import open_preferences

_RENDER_THEN_SIGTERM = (
    "import os, signal, time\n"
    "{imports}\n"
    "import gymnasium as gym\n"
    "env = gym.make('CartPole-v1', render_mode='rgb_array'); env.reset(seed=0); env.render()  # starts SDL\n"
    "os.kill(os.getpid(), signal.SIGTERM)\n"
    "time.sleep(3)\n"
    "print('survived')\n"
)


@pytest.mark.slow
def test_sdl_takes_sigterm_unless_irlkit_was_imported() -> None:
    """The issue's reproduction: gymnasium's rgb_array rendering starts SDL, whose handler swallowed SIGTERM."""
    env = {k: v for k, v in os.environ.items() if k != "SDL_NO_SIGNAL_HANDLERS"}
    bare = subprocess.run(
        [sys.executable, "-c", _RENDER_THEN_SIGTERM.format(imports="")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bare.returncode == 0 and "survived" in bare.stdout, "SDL no longer takes SIGTERM: this test shows nothing"
    fixed = subprocess.run(
        [sys.executable, "-c", _RENDER_THEN_SIGTERM.format(imports="import irlkit")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert fixed.returncode == -signal.SIGTERM and "survived" not in fixed.stdout


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_human_preference_run_stops_on_a_signal_after_rendering_clips(
    sig: signal.Signals, tmp_path: Path, store_root: Path
) -> None:
    proc, url, output = _start_human_run(tmp_path / "run")
    try:
        shown = []
        deadline = time.time() + 120
        while len(shown) < 2 and time.time() < deadline:  # a pair is served only once its clips are rendered
            status, nxt = request(url + "api/next?annotator=tester&wait=10")
            assert status == 200, nxt
            if nxt["state"] == "pair" and nxt["pair"]["pair_id"] not in shown:
                shown.append(nxt["pair"]["pair_id"])
                if len(shown) == 1:
                    assert post_label(url, {"pair_id": shown[0], "label": "left", "annotator": "tester"})[0] == 200
        assert len(shown) == 2, "".join(output)[-3000:]
        assert any(f.suffix == ".mp4" for f in (tmp_path / "run" / "clips").iterdir())
        t0 = time.time()
        proc.send_signal(sig)
        rc = proc.wait(timeout=30)
        took = time.time() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "".join(output)
    assert rc == 128 + sig, (rc, text[-3000:])
    assert took < 10, f"took {took:.1f} s to stop"
    assert "Traceback" not in text, text[-3000:]
    assert "stopped while waiting for labels" in text and "run the same command again to resume" in text
    stored = open_preferences("restart", root=store_root)
    assert [(r.pair_id, r.label) for r in stored.labels()] == [(shown[0], "left")], "the committed label is kept"
    assert not list((stored.path / ".tmp").iterdir()), "nothing half-written is left behind"


@pytest.mark.slow
def test_the_label_command_stops_on_sigterm_keeping_its_labels(tmp_path: Path, store_root: Path) -> None:
    ds, ids = queued(store_root, 2, name="later")
    proc = subprocess.Popen(
        [sys.executable, "-m", "irlkit.feedback", "label", "later", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    url = None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"Open the labelling page: (\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "".join(lines)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:  # wait until the clips are rendered (SDL started)
            status, nxt = request(url + "api/next?annotator=ann&wait=10")
            if nxt.get("state") == "pair":
                break
        assert post_label(url, {"pair_id": nxt["pair"]["pair_id"], "label": "right", "annotator": "ann"})[0] == 200
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    rest = proc.stdout.read()
    assert rc == 0, "".join(lines) + rest
    assert "stopped by SIGTERM; every label given so far is saved" in rest and "Traceback" not in rest
    assert [r.label for r in open_preferences("later", root=store_root).labels()] == ["right"]


@pytest.mark.slow
def test_evaluate_stops_on_sigterm_while_writing_a_video(tmp_path: Path) -> None:
    pytest.importorskip("imageio", reason="video needs the video extra")
    run = tmp_path / "run"
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=bc",
            "algo.budget=20",
            "eval.episodes=1",
            "eval.curve_points=0",
            "progress=false",
            f"hydra.run.dir={run}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # 200 episodes of 500 steps take half a minute; the first two are rendered from the first step on
    evaluating = subprocess.Popen(
        [sys.executable, "-m", "irlkit.evaluate", f"run={run}", "episodes=200", "video=true"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)
    assert evaluating.poll() is None, evaluating.communicate()
    t0 = time.time()
    evaluating.send_signal(signal.SIGTERM)
    _, err = evaluating.communicate(timeout=30)
    assert evaluating.returncode == 143 and time.time() - t0 < 10, err[-3000:]
    assert "irlkit.evaluate: stopped by SIGTERM" in err and "Traceback" not in err
    assert (run / "eval.json").exists(), "the run's earlier eval.json is kept"


_SCRIPT = """
import os, signal, sys, threading, time
sys.path.insert(0, sys.argv[1])
from irlkit import signals
signals.GRACE_S = 2.0
signals.stop_on_signals()
{body}
"""


def _run_script(tmp_path: Path, body: str) -> tuple[subprocess.CompletedProcess, float]:
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(1.5)\nVALUE = 42\n")
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(body=body), str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, time.time() - t0


@pytest.mark.slow
def test_a_signal_during_an_import_waits_for_the_import_to_finish(tmp_path: Path) -> None:
    """A KeyboardInterrupt raised inside an import escapes where nothing expects it (numpy's and torch's
    imports swallowed it, or broke): the stop is raised once the import is done."""
    proc, _ = _run_script(
        tmp_path,
        (
            "threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
            "import slow_module\n"
            "print('imported', slow_module.VALUE, flush=True)\n"
            "try:\n    time.sleep(10)\nexcept KeyboardInterrupt:\n    sys.exit(signals.exit_status())\n"
        ),
    )
    assert proc.returncode == 143 and "imported 42" in proc.stdout, (proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.slow
def test_a_swallowed_stop_still_ends_the_process(tmp_path: Path) -> None:
    proc, took = _run_script(
        tmp_path,
        (
            "threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
            "for _ in range(100):\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass  # a library that catches too much\n"
            "print('survived', flush=True)\n"
        ),
    )
    assert proc.returncode == 143 and "survived" not in proc.stdout and took < 8, (proc.returncode, took)
    assert "still running 2 s after SIGTERM: exiting now" in proc.stderr


def test_a_second_signal_while_stopping_ends_the_process_at_once(tmp_path: Path) -> None:
    proc, took = _run_script(
        tmp_path,
        (
            "threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
            "try:\n    time.sleep(10)\nexcept KeyboardInterrupt:\n"
            "    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
            "    time.sleep(10)  # a slow cleanup\n"
        ),
    )
    assert proc.returncode == -signal.SIGINT and took < 1.8, (proc.returncode, took)
