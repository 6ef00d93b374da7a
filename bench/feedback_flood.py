"""Latency of the labelling server under a burst of clients: the listen backlog's effect.

Real parts only: the real `LabelServer` and `LabelSession` over a preference dataset on disk,
real sockets. `--clients` threads start together behind a barrier; each opens a fresh connection
per request (as a page opening does: the page, its script, its style, two clips and a long poll at
once) and asks `GET /api/state` with the session token, `--requests` times. The time of each
request, from connect to the last byte of the answer, is collected; the script reports its
percentiles for each listen backlog given (5 is what socketserver gives by default, 128 irlkit's).

    .venv/bin/python bench/feedback_flood.py [--clients 20] [--requests 50] [--backlog 5 128] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from irlkit.envs import load_env_config, make_venv  # noqa: E402
from irlkit.feedback.server import TOKEN_HEADER, LabelServer  # noqa: E402
from irlkit.feedback.session import LabelSession  # noqa: E402
from irlkit.store.preferences import create_preferences  # noqa: E402


def flood(server: LabelServer, clients: int, requests: int) -> tuple[list[float], int]:
    host, port = server.server_address[:2]
    barrier = threading.Barrier(clients)
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client() -> None:
        barrier.wait()
        mine = []
        for _ in range(requests):
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request("GET", "/api/state", headers={TOKEN_HEADER: server.token})
                resp = conn.getresponse()
                resp.read()
                conn.close()
                ok = resp.status == 200
            except OSError:
                ok = False
            if ok:
                mine.append(time.perf_counter() - t0)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=50, help="requests per client per round")
    ap.add_argument("--backlog", type=int, nargs="+", default=[5, LabelServer.request_queue_size])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="irlkit-flood-"))
    cfg = load_env_config("cartpole")
    venv = make_venv(cfg, seed=0, n_envs=1)
    ds = create_preferences(
        "flood",
        env_id=cfg.id,
        observation_space=venv.observation_space,
        action_space=venv.action_space,
        env_config={"name": cfg.name, "id": cfg.id},
        root=tmp,
    )
    venv.close()
    session = LabelSession(ds, lambda job: None, each_annotator=True)
    print(
        f"{args.clients} clients x {args.requests} requests, {args.rounds} rounds per backlog; "
        "a fresh connection per request; seconds from connect to the last byte"
    )
    print(f"{'backlog':>8} {'requests':>9} {'errors':>7} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'>=0.9 s':>8}")
    for backlog in args.backlog:
        LabelServer.request_queue_size = backlog
        server = LabelServer(session, tmp / "clips", port=0).start()
        try:
            all_times: list[float] = []
            errors = 0
            for _ in range(args.rounds):
                times, err = flood(server, args.clients, args.requests)
                all_times += times
                errors += err
        finally:
            server.stop()
        t = np.asarray(all_times)
        p50, p90, p99 = np.percentile(t, [50, 90, 99])
        slow = int(np.sum(t >= 0.9))
        print(f"{backlog:>8} {len(t):>9} {errors:>7} {p50:>8.4f} {p90:>8.4f} {p99:>8.4f} {t.max():>8.4f} {slow:>8}")


if __name__ == "__main__":
    main()
