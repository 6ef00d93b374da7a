"""What loading without unpickling costs: irlkit's safe loader against SB3's own `load`.

Loads each shipped expert (`demos/_experts/*.zip`, written by SB3 2.2.1) `--repeat` times both
ways, after one warm-up load each, and prints the median time per load. Both give the same actions
(tests/test_policies.py checks that); the difference is what rebuilding the model by hand costs.

    .venv/bin/python bench/policy_load.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
import warnings
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import stable_baselines3 as sb3  # noqa: E402

from irlkit.envs import load_env_config  # noqa: E402
from irlkit.experts import load_expert  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print(f"stable-baselines3 {sb3.__version__}; median of {args.repeat} loads, after a warm-up")
    print(f"{'expert':<26} {'algo':>5} {'irlkit (ms)':>12} {'SB3 load (ms)':>14}")
    for path in sorted((REPO / "demos" / "_experts").glob("*.zip")):
        cfg = load_env_config(path.stem)
        algo = json.loads(zipfile.ZipFile(path).read("data"))["irlkit_algo"]
        cls = getattr(sb3, algo)
        times = {}
        loaders = {
            "irlkit": functools.partial(load_expert, path, cfg),
            "sb3": functools.partial(cls.load, path, device="cpu"),
        }
        for name, load in loaders.items():
            load()
            ts = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                load()
                ts.append(time.perf_counter() - t0)
            times[name] = 1000 * statistics.median(ts)
        print(f"{path.stem:<26} {algo:>5} {times['irlkit']:>12.1f} {times['sb3']:>14.1f}")


if __name__ == "__main__":
    main()
