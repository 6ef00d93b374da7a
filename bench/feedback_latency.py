"""How long from a pair being queued to the labelling page showing both clips ready to play.

Real parts only: CartPole fragments from rollouts, the clip worker rendering and encoding them,
the HTTP server, and headless Chromium (Debian's chromium through Playwright) long-polling the
page's API. The clock starts when the pair is handed to the session (what the gatherer does once
imitation asks for preferences) and stops when the page has *decoded* both clips (`loadeddata` on
both <video>s; Date.now() in the page and time.time() here read the same system clock).

    .venv/bin/python bench/feedback_latency.py [--pairs 20] [--fragment-length 50] [--format mp4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from irlkit.envs import load_env_config, make_venv  # noqa: E402
from irlkit.feedback.gatherer import start_labelling, to_fragment  # noqa: E402
from irlkit.store.preferences import create_preferences  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def make_pairs(n: int, length: int) -> list:
    from imitation.algorithms import preference_comparisons as pc
    from imitation.data import rollout

    venv = make_venv(load_env_config("cartpole"), seed=0, n_envs=1)
    rng = np.random.default_rng(0)
    trajs = rollout.generate_trajectories(None, venv, rollout.make_sample_until(min_timesteps=2 * n * length), rng=rng)
    venv.close()
    return pc.RandomFragmenter(rng=rng, warning_threshold=0)(trajs, length, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--fragment-length", type=int, default=50)
    ap.add_argument("--format", default="mp4", choices=["mp4", "webp", "gif"])
    ap.add_argument("--batch", type=int, default=10, help="also time the first pair of a batch of this many")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="irlkit-latency-"))
    cfg = load_env_config("cartpole")
    venv = make_venv(cfg, seed=0, n_envs=1)
    ds = create_preferences(
        "latency",
        env_id=cfg.id,
        observation_space=venv.observation_space,
        action_space=venv.action_space,
        env_config={"name": cfg.name, "id": cfg.id},
        root=tmp,
    )
    venv.close()
    pairs = make_pairs(args.pairs + args.batch, args.fragment_length)
    ids = ds.add_pairs([(to_fragment(a), to_fragment(b)) for a, b in pairs], run="bench", iteration=0)
    session, server, worker = start_labelling(
        ds,
        cfg,
        tmp / "clips",
        each_annotator=False,
        annotator="bench",
        host="127.0.0.1",
        port=0,
        clip_format=args.format,
        quiet=True,
    )
    single, first_of_batch = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page()
        page.goto(server.url)
        page.wait_for_function("document.body.dataset.state === 'waiting'")

        def one(batch_ids: list[str], k: int) -> float:
            t0 = time.time()
            session.offer(batch_ids, batch=k, batches=args.pairs + 1)
            pid = batch_ids[0]
            page.wait_for_function(f"window.irlkitReady['{pid}'] !== undefined", timeout=30_000)
            shown = page.evaluate(f"window.irlkitReady['{pid}']") / 1000.0
            for p in batch_ids:  # answer everything so the page goes back to waiting
                page.wait_for_function(f"document.querySelector('#pair').dataset.pairId === '{p}'", timeout=30_000)
                page.keyboard.press("ArrowLeft")
            session.wait_labels(batch_ids, timeout=30)
            session.set_waiting("bench: waiting")
            page.wait_for_function("document.body.dataset.state === 'waiting'")
            return shown - t0

        for k, pid in enumerate(ids[: args.pairs]):
            single.append(one([pid], k + 1))
        first_of_batch.append(one(ids[args.pairs :], args.pairs + 1))
        browser.close()
    server.stop()
    worker.close()
    render = session.clip_latencies[: args.pairs]

    def ms(xs: list[float]) -> str:
        return f"median {1000 * statistics.median(xs):.0f} ms, p90 {1000 * sorted(xs)[int(0.9 * (len(xs) - 1))]:.0f} ms, max {1000 * max(xs):.0f} ms"

    print(
        f"clip format {worker.fmt}, fragments of {args.fragment_length} steps ({args.fragment_length + 1} frames per clip), "
        f"{args.pairs} pairs one at a time"
    )
    print(f"queued -> both clips decoded in Chromium: {ms(single)}")
    print(f"of which rendering + encoding the pair:   {ms(render)}")
    print(f"first pair of a batch of {args.batch}:          {1000 * first_of_batch[0]:.0f} ms")


if __name__ == "__main__":
    main()
