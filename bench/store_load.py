"""Benchmark: loading demonstrations from the demos store vs imitation's own format.

    python bench/store_load.py                         # 2000 episodes x 500 steps = 1M transitions
    python bench/store_load.py --episodes 200          # a quick run

Builds CartPole-sized data (4 float32 observations, Discrete actions, float rewards), saves it with
`imitation.data.serialize.save` and into the store, then, in this one process and with both sets of
files freshly written (warm page cache), times:

- imitation: `serialize.load` + `rollout.flatten_trajectories` (what a trainer does to get
  `Transitions`), against the store's `Dataset.open(path).to_transitions()` and `to_trajectories()`;
- peak Python heap of each (tracemalloc; numpy reports its buffers to it; memory-mapped pages are
  page cache, not heap) and the process's peak RSS (resource.getrusage);
- appending one episode per commit vs all episodes in one commit, and `open(verify=True)`;
- `Dataset.check()`, what training runs before it uses a dataset (sha256 of every file, each
  column's rows, dtype and shape, NaN/inf, values inside the spaces, stored returns), alone and as
  part of open + check + to_transitions.

It prints a table and the speed-up, and exits non-zero if the speed-up is below 50x (the issue's bar).
"""

from __future__ import annotations

import argparse
import functools
import gc
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build_episodes(n_episodes: int, steps: int, seed: int = 0):
    """CartPole-shaped episodes: obs (T+1, 4) float32, acts (T,) int64, rews (T,) float64."""
    from irlkit.store import Episode, EpisodeMeta

    rng = np.random.default_rng(seed)
    obs = rng.uniform(-1, 1, size=(n_episodes, steps + 1, 4)).astype(np.float32)
    acts = rng.integers(0, 2, size=(n_episodes, steps), dtype=np.int64)
    rews = np.ones((n_episodes, steps), dtype=np.float64)
    return [
        Episode(
            obs=obs[i],
            acts=acts[i],
            rews=rews[i],
            truncated=True,
            meta=EpisodeMeta(source="script", device="bench", seed=i),
        )
        for i in range(n_episodes)
    ]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def peak_heap(fn: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, out


def _checked_transitions(path: Path):
    from irlkit.store import Dataset

    ds = Dataset.open(path)
    ds.check()
    return ds.to_transitions()


def mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument(
        "--append-episodes", type=int, default=200, help="episodes for the one-commit-per-episode timing"
    )
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the (fast) store timings; median reported")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write (default: a temporary folder)")
    args = parser.parse_args(argv)

    import gymnasium as gym
    from imitation.data import rollout, serialize
    from imitation.data.types import TrajectoryWithRew

    from irlkit.store import Dataset

    tmp = tempfile.TemporaryDirectory(prefix="irlkit-bench-") if args.workdir is None else None
    work = Path(tmp.name) if tmp else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    n_trans = args.episodes * args.steps
    print(f"building {args.episodes} episodes x {args.steps} steps = {n_trans:,} transitions in {work}", flush=True)
    episodes = build_episodes(args.episodes, args.steps)
    obs_space = gym.spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32)
    act_space = gym.spaces.Discrete(2)
    rows: list[tuple[str, str, str]] = []

    # ---- writing ----------------------------------------------------------------------------
    trajs = [TrajectoryWithRew(obs=e.obs, acts=e.acts, infos=None, terminal=False, rews=e.rews) for e in episodes]
    import datasets

    datasets.disable_progress_bars()
    t_imitation_save, _ = timed(functools.partial(serialize.save, work / "imitation", trajs))
    rows.append(("imitation serialize.save", f"{t_imitation_save:.2f} s", ""))
    del trajs

    def create(name: str) -> Dataset:
        return Dataset.create(
            work / name, env_id="seals/CartPole-v0", observation_space=obs_space, action_space=act_space
        )

    ds = create("store")
    t_batched, _ = timed(functools.partial(ds.append_episodes, episodes))
    rows.append(
        (
            f"store append_episodes ({args.episodes} episodes, one commit)",
            f"{t_batched:.2f} s",
            f"{t_batched / args.episodes * 1e3:.2f} ms/episode",
        )
    )
    one = create("store_per_episode")
    k = min(args.append_episodes, args.episodes)
    first_k = episodes[:k]

    def per_episode() -> None:
        for ep in first_k:
            one.append_episode(ep)

    t_each, _ = timed(per_episode)
    rows.append(
        (f"store append_episode x{k} (one commit each)", f"{t_each:.2f} s", f"{t_each / k * 1e3:.2f} ms/episode")
    )
    del episodes
    gc.collect()

    # ---- reading: store ----------------------------------------------------------------------
    def store_transitions():
        return Dataset.open(work / "store").to_transitions()

    def store_trajectories():
        return Dataset.open(work / "store").to_trajectories()

    t_open = statistics.median(timed(lambda: Dataset.open(work / "store"))[0] for _ in range(args.repeats))
    t_store = statistics.median(timed(store_transitions)[0] for _ in range(args.repeats))
    t_trajs = statistics.median(timed(store_trajectories)[0] for _ in range(args.repeats))
    t_verify = statistics.median(
        timed(lambda: Dataset.open(work / "store", verify=True))[0] for _ in range(args.repeats)
    )
    t_check = statistics.median(timed(lambda: Dataset.open(work / "store").check())[0] for _ in range(args.repeats))
    t_checked = statistics.median(timed(lambda: _checked_transitions(work / "store"))[0] for _ in range(args.repeats))
    t_many = statistics.median(
        timed(lambda: Dataset.open(work / "store_per_episode").to_transitions())[0] for _ in range(args.repeats)
    )
    heap_store, trans = peak_heap(store_transitions)
    assert len(trans) == n_trans
    heap_trajs, _ = peak_heap(store_trajectories)
    del trans
    rows.append(("store Dataset.open", f"{t_open * 1e3:.1f} ms", ""))
    rows.append(("store open + to_transitions", f"{t_store * 1e3:.1f} ms", f"peak heap {mb(heap_store)}"))
    rows.append(("store open + to_trajectories", f"{t_trajs * 1e3:.1f} ms", f"peak heap {mb(heap_trajs)}"))
    rows.append(
        (
            "store open(verify=True) (sha256 of every file)",
            f"{t_verify * 1e3:.1f} ms",
            f"{(t_verify - t_open) * 1e3:.1f} ms over a plain open",
        )
    )
    per_million = (t_check - t_open) * 1e6 / n_trans
    rows.append(
        (
            "store open + check() (what training runs first)",
            f"{t_check * 1e3:.1f} ms",
            f"check: {(t_check - t_open) * 1e3:.1f} ms, {per_million * 1e3:.1f} ms per 1M transitions",
        )
    )
    rows.append(
        (
            "store open + check() + to_transitions",
            f"{t_checked * 1e3:.1f} ms",
            f"{(t_checked - t_store) * 1e3:.1f} ms over unchecked",
        )
    )
    rows.append(
        (
            f"store open + to_transitions, {k} one-episode segments",
            f"{t_many * 1e3:.1f} ms",
            f"{k * args.steps:,} transitions",
        )
    )
    rss_before_imitation = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    # ---- reading: imitation -------------------------------------------------------------------
    def imitation_transitions():
        return rollout.flatten_trajectories(list(serialize.load(work / "imitation")))

    t_imitation, theirs = timed(imitation_transitions)
    ours = Dataset.open(work / "store").to_transitions()
    np.testing.assert_array_equal(theirs.obs.astype(np.float32), ours.obs)  # same data, both ways
    np.testing.assert_array_equal(theirs.acts, ours.acts)
    del theirs, ours
    rss_after_imitation = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    heap_imitation, _ = peak_heap(imitation_transitions)
    rows.append(
        ("imitation serialize.load + flatten_trajectories", f"{t_imitation:.2f} s", f"peak heap {mb(heap_imitation)}")
    )

    ratio = t_imitation / t_store
    print()
    width = max(len(r[0]) for r in rows)
    for what, value, note in rows:
        print(f"{what.ljust(width)}  {value:>10}  {note}")
    print(f"\npeak RSS: {mb(rss_before_imitation)} before imitation's load, {mb(rss_after_imitation)} after it")
    print(
        f"speed-up, store open + to_transitions vs imitation load + flatten: {ratio:,.0f}x "
        f"({t_imitation:.2f} s / {t_store * 1e3:.1f} ms)"
    )
    if tmp:
        tmp.cleanup()
    if ratio < 50:
        print("FAIL: the store must load at least 50x faster", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
