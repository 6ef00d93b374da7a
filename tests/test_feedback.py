"""Human preference feedback without a browser: the server's answers to bad input, the preference
dataset's crash safety and resumption, the statistics, and training from saved labels.

Everything here is real: pairs are fragments of seals CartPole rollouts, clips are encoded by the
real clip worker, requests go over real sockets to the real server, and runs are real (tiny) runs.
The page itself, in Chromium, is in test_feedback_browser.py.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import REPO, run_cli
from irlkit.envs import load_env_config, make_venv
from irlkit.errors import IrlkitError, StoreError
from irlkit.feedback.gatherer import (
    HumanPreferenceGatherer,
    SkippablePreferenceDataset,
    start_labelling,
    to_fragment,
)
from irlkit.feedback.server import LabelServer, check_loopback
from irlkit.feedback.stats import agreement, annotator_stats, cohen_kappa
from irlkit.store.preferences import (
    LabelConflict,
    PreferenceDataset,
    create_preferences,
    open_preferences,
)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def cartpole_pairs(n: int, length: int = 12, seed: int = 0) -> list[tuple[Any, Any]]:
    """n pairs of real CartPole fragments from a random policy."""
    from imitation.algorithms import preference_comparisons as pc
    from imitation.data import rollout

    cfg = load_env_config("cartpole")
    venv = make_venv(cfg, seed=seed, n_envs=1)
    rng = np.random.default_rng(seed)
    trajs = rollout.generate_trajectories(None, venv, rollout.make_sample_until(min_timesteps=2 * n * length), rng=rng)
    venv.close()
    return pc.RandomFragmenter(rng=rng, warning_threshold=0)(trajs, length, n)


def new_dataset(root: Path, name: str = "prefs") -> PreferenceDataset:
    cfg = load_env_config("cartpole")
    venv = make_venv(cfg, seed=0, n_envs=1)
    ds = create_preferences(
        name,
        env_id=cfg.id,
        observation_space=venv.observation_space,
        action_space=venv.action_space,
        env_config={"name": cfg.name, "id": cfg.id},
        root=root,
    )
    venv.close()
    return ds


def queued(root: Path, n: int, *, name: str = "prefs") -> tuple[PreferenceDataset, list[str]]:
    ds = new_dataset(root, name)
    ids = ds.add_pairs([(to_fragment(a), to_fragment(b)) for a, b in cartpole_pairs(n)], run="test", iteration=0)
    return ds, ids


_TOKENS: dict[str, str] = {}


def page_token(base: str) -> str:
    """The session token, read from the served page as the page's own script reads it."""
    if base not in _TOKENS:
        with urllib.request.urlopen(base) as r:
            html = r.read().decode()
        m = re.search(r'<meta name="irlkit-token" content="([^"]+)">', html)
        assert m, html[:500]
        _TOKENS[base] = m.group(1)
    return _TOKENS[base]


def request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None, *, token: bool | str = True
) -> tuple[int, dict]:
    """One HTTP request over a raw connection (so we can send what urllib refuses to).

    API requests carry the page's session token unless `token` is False (or another string)."""
    m = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert m, url
    headers = dict(headers or {})
    if (
        m.group(3).startswith("/api/")
        and token is not False
        and not any(k.lower() == "x-irlkit-token" for k in headers)
    ):
        headers["X-Irlkit-Token"] = (
            token if isinstance(token, str) else page_token(f"http://{m.group(1)}:{m.group(2)}/")
        )
    conn = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=30)
    try:
        own_host = any(k.lower() == "host" for k in (headers or {}))
        conn.putrequest(method, m.group(3), skip_host=own_host, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        data = resp.read()
        try:
            return resp.status, json.loads(data or b"{}")
        except ValueError:
            return resp.status, {"raw": data[:200]}
    finally:
        conn.close()


def post_label(
    url: str, obj: Any, *, raw: bytes | None = None, headers: dict | None = None, token: bool | str = True
) -> tuple[int, dict]:
    body = raw if raw is not None else json.dumps(obj).encode()
    h = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    h.update(headers or {})
    return request(url + "api/label", "POST", body, h, token=token)


@pytest.fixture
def serving(tmp_path: Path):
    """A saved queue of 4 real pairs served for every annotator (the `label` command's setup)."""
    ds, ids = queued(tmp_path / "store", 4)
    session, server, worker = start_labelling(
        ds,
        load_env_config("cartpole"),
        tmp_path / "clips",
        each_annotator=True,
        annotator=None,
        host="127.0.0.1",
        port=0,
        clip_format="mp4",
        quiet=True,
    )
    session.offer(ids)
    yield server.url, ds, ids, session
    server.stop()
    worker.close()


# --------------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------------
def test_server_refuses_bad_input_with_reasons_and_keeps_serving(serving):
    url, ds, ids, _ = serving
    good = {"pair_id": ids[0], "label": "left", "annotator": "alice"}
    cases = [
        (post_label(url, {**good, "pair_id": "0123456789abcdef"}), 404, "no pair"),
        (post_label(url, {**good, "pair_id": "../../etc"}), 404, "no pair"),
        (post_label(url, None, raw=b'{"pair_id": "abc", "label": '), 400, "not valid JSON"),
        (post_label(url, None, raw=b"\xff\xfe"), 400, "not valid JSON"),
        (post_label(url, ["a", "list"]), 400, "JSON object"),
        (post_label(url, {**good, "label": "maybe"}), 400, "not one of"),
        (post_label(url, {**good, "label": 1}), 400, "label"),
        (post_label(url, {**good, "annotator": "Alice Smith"}), 400, "pseudonym"),
        (post_label(url, {**good, "annotator": "alice@example.org"}), 400, "pseudonym"),
        (post_label(url, {"pair_id": ids[0], "label": "left"}), 400, "alias"),
        (post_label(url, {**good, "extra": 1}), 400, "unknown field"),
        (post_label(url, None, raw=b"x" * 5000), 413, "limit"),
        (post_label(url, good, headers={"Content-Type": "text/plain"}), 415, "application/json"),
        (request(url + "api/label", "POST", None, {"Content-Type": "application/json"}), 411, "Content-Length"),
        (post_label(url, good, headers={"Content-Length": "abc"}), 400, "Content-Length"),
        (post_label(url, good, headers={"Host": "evil.example:80"}), 403, "Host"),
        (post_label(url, good, headers={"Host": "127.attacker.example"}), 403, "Host"),  # DNS rebinding
        (request(url + "clips/../../../etc/passwd"), 404, "no"),
        (request(url + "page/../server.py"), 404, "no"),
        (request(url + "api/next?annotator=alice&wait=soon"), 400, "seconds"),
        (request(url + "api/next"), 400, "alias"),
        (request(url + "nothing-here"), 404, "no such page"),
    ]
    for (status, body), want_status, reason in cases:
        assert status == want_status, (status, body, want_status)
        assert reason.lower() in body["error"].lower(), body
    assert ds.labels() == [], "no bad request may write a label"

    status, body = post_label(url, good)
    assert status == 200 and body["ok"], body
    # Committed before the answer: another reader sees it on disk.
    assert [(r.pair_id, r.label, r.annotator) for r in open_preferences(str(ds.path)).labels()] == [
        (ids[0], "left", "alice")
    ]
    status, body = post_label(url, good)
    assert status == 409 and "already labelled" in body["error"]
    status, body = post_label(url, {**good, "label": "right"})
    assert status == 409
    # A second annotator may label the same pair in a saved queue (agreement statistics need it).
    assert post_label(url, {**good, "annotator": "bob"})[0] == 200
    assert sorted((r.annotator, r.label) for r in open_preferences(str(ds.path)).labels()) == [
        ("alice", "left"),
        ("bob", "left"),
    ]
    status, body = request(url + "api/state")
    assert status == 200 and body["total_labels"] == 2


def _raw(url: str, data: bytes) -> tuple[int, dict]:
    """Send bytes as they are and read the status line and a JSON body back."""
    import socket

    m = re.match(r"http://([^:/]+):(\d+)/", url)
    assert m
    with socket.create_connection((m.group(1), int(m.group(2))), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
            length = re.search(rb"Content-Length: (\d+)", head)
            if length and len(rest) >= int(length.group(1)):
                break
    reply = b"".join(chunks)
    head, _, rest = reply.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(rest) if rest.strip() else {}


def test_server_answers_every_malformed_request_with_a_4xx_and_a_reason(serving):
    url, ds, ids, _ = serving
    good = {"pair_id": ids[0], "label": "left", "annotator": "alice"}
    clip_name = None
    status, nxt = request(url + "api/next?annotator=probe&wait=20")
    assert status == 200 and nxt["state"] == "pair", nxt
    clip_name = nxt["pair"]["left"]
    cases = [
        (post_label(url, None, raw=b"[" * 4000), 400, "nested too deeply"),
        (post_label(url, None, raw=b'{"pair_id": ' + b"[" * 4000), 400, "nested too deeply"),
        (request(url + clip_name.lstrip("/"), headers={"Range": "bytes=" + "9" * 5000 + "-"}), 416, "Range"),
        (request(url + clip_name.lstrip("/"), headers={"Range": "bytes=0-1,5-9"}), 416, "Range"),
        (request(url + "api/next?annotator=alice&wait=nan"), 400, "seconds"),
        (request(url + "api/next?annotator=alice&wait=-1"), 400, "seconds"),
        (request(url + "api/next?annotator=alice&wait=" + "9" * 5000), 400, "seconds"),
        (request(url + "api/state?" + "&".join(f"k{i}=v" for i in range(50))), 400, "fields"),
        (request(url + "api/label"), 405, "POST"),
        (request(url + "api/label", "PUT", b"{}", {"Content-Length": "2"}), 405, "method"),
        (request(url + "api/label", "OPTIONS"), 405, "method"),
        (request(url + "api/label", "BREW"), 405, "method"),
        (post_label(url, good, headers={"Transfer-Encoding": "chunked"}), 400, "chunked"),
        (post_label(url, good, headers={"Content-Length": "-1"}), 400, "Content-Length"),
        (post_label(url, good, headers={"Content-Length": "9" * 5000}), 400, "Content-Length"),
        (_raw(url, b"GARBAGE\r\n\r\n"), 400, "request"),
        (_raw(url, b"GET / HTTP/7.0\r\n\r\n"), 400, "version"),
        (_raw(url, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"), 414, "HTTP 414"),
        (_raw(url, b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n"), 431, "header"),
    ]
    for (status, body), want_status, reason in cases:
        assert status == want_status, (status, body, want_status, reason)
        assert reason.lower() in body["error"].lower(), body
    assert ds.labels() == [], "no bad request may write a label"
    assert post_label(url, good)[0] == 200, "the server keeps serving"


def test_server_survives_random_requests_without_a_server_error(serving):
    """Well-formed requests, each broken in one to three random ways: never a 500, never a bad label."""
    url, ds, ids, _ = serving
    rng = np.random.default_rng(0)
    status, nxt = request(url + "api/next?annotator=fuzz&wait=20")
    assert nxt["state"] == "pair", nxt
    clip = nxt["pair"]["left"]
    label = json.dumps({"pair_id": ids[1], "label": "left", "annotator": "z"}).encode()
    paths = [
        "/",
        "/api/label",
        "/api/next?annotator=x&wait=0",
        "/api/state",
        clip,
        "/page/app.js",
        "/%00",
        "/api/next?annotator=%ff%fe&wait=0",
        "/api/next?wait=1e308&annotator=y",
        "/../../etc/passwd",
        "/api/next?annotator=" + "a" * 3000,
        "/api/next?annotator=x&wait=0&known=" + "%" * 50,
    ]
    breaks = [
        ("Range", "bytes=" + "9" * 5000 + "-"),
        ("Range", "bytes=-" + "9" * 5000),
        ("Range", "bytes=-"),
        ("Range", "bytes=5-1"),
        ("Range", "lines=1-2"),
        ("Content-Length", "4097"),
        ("Content-Length", "0"),
        ("Content-Length", "1" * 5000),
        ("Content-Type", "text/plain"),
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
        ("Host", "[::1]"),
        ("Host", "evil"),
        ("Sec-Fetch-Site", "cross-site"),
        ("X-Irlkit-Token", "wrong"),
        ("X-Irlkit-Token", ""),
        ("Transfer-Encoding", "chunked"),
        ("Expect", "100-continue"),
    ]
    bodies = [
        b"",
        b"{}",
        b"[" * 4000,
        b'{"pair_id": ' + b"[" * 4000,
        b'{"label": "left", "pair_id": 1e999999}',
        bytes(rng.integers(0, 256, 300, dtype=np.uint8)),
        b'"' + b"\\u" * 500,
        b'{"pair_id": "' + b"a" * 3000 + b'"}',
    ]
    for _ in range(200):
        method = str(rng.choice(["GET", "POST", "HEAD", "DELETE"], p=[0.35, 0.45, 0.1, 0.1]))
        path = "/api/label" if method == "POST" and rng.random() < 0.8 else str(rng.choice(paths))
        body = label if method == "POST" else b""
        hdrs = {"Content-Type": "application/json"} if method == "POST" else {}
        for k in rng.choice(len(breaks) + len(bodies), size=int(rng.integers(1, 4)), replace=False):
            if k < len(breaks):
                hdrs[breaks[k][0]] = breaks[k][1]
            elif method == "POST":
                body = bodies[k - len(breaks)]
        if method == "POST" and "Content-Length" not in hdrs and "Transfer-Encoding" not in hdrs:
            hdrs["Content-Length"] = str(len(body))
        try:
            status, reply = request(url + path.lstrip("/"), method, body, hdrs)
        except (http.client.HTTPException, ConnectionError):
            continue  # the server closed a connection it refused (e.g. after a 413): fine
        assert status < 500, (method, path, hdrs, body[:50], status, reply)
        assert method == "HEAD" or status < 400 or reply.get("error"), (method, path, status, reply)
    assert {(r.pair_id, r.annotator) for r in ds.labels()} <= {(ids[1], "z")}, (
        "only the well-formed label may be stored"
    )


def test_server_refuses_other_origins_and_requests_without_the_session_token(serving):
    url, ds, ids, session = serving
    good = {"pair_id": ids[0], "label": "left", "annotator": "alice"}
    host = url.split("//")[1].rstrip("/")
    with urllib.request.urlopen(url) as r:
        page = r.read().decode()
        assert (
            "frame-ancestors 'none'" in r.headers["Content-Security-Policy"] and r.headers["X-Frame-Options"] == "DENY"
        )
        assert r.headers["Cache-Control"] == "no-store"
    token = page_token(url)
    assert token in page and len(token) >= 32
    refused = [
        post_label(url, good, token=False),
        post_label(url, good, token="x" * len(token)),
        post_label(url, good, headers={"Origin": "http://evil.example"}),
        post_label(url, good, headers={"Origin": "null"}),
        post_label(url, good, headers={"Origin": f"http://{host.split(':')[0]}:1"}),  # another port: another origin
        post_label(url, good, headers={"Sec-Fetch-Site": "cross-site"}),
        request(url + "api/state", token=False),
        request(url + "api/next?annotator=alice&wait=0", headers={"Origin": "http://evil.example"}),
        request(url + "clips/" + "0" * 16 + "-L.mp4", headers={"Sec-Fetch-Site": "cross-site"}),
    ]
    for status, body in refused:
        assert status == 403, (status, body)
    assert refused[0][1].get("reload") is True and "reload the page" in refused[0][1]["error"]
    assert "other web pages" in refused[2][1]["error"]
    assert ds.labels() == [], "a refused request wrote a label"
    # the page's own requests: same origin, the token from the page
    assert post_label(url, good, headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"})[0] == 200
    assert len(open_preferences(str(ds.path)).labels()) == 1
    # a server started again has a new token: the old page's token is refused (and the page reloads)
    from irlkit.feedback.server import LabelServer

    other = LabelServer(session, Path(ds.path), port=0)
    assert other.token != token
    other.server_close()


def test_a_label_committed_by_another_process_is_not_asked_again(tmp_path: Path):
    """The `feedback label` command and a training run on one dataset: what one stores, the other
    counts, before it shows the pair and while it waits."""
    ds, ids = queued(tmp_path / "store", 3)
    from irlkit.feedback.session import LabelSession

    ready = []
    session = LabelSession(ds, lambda job: ready.append(job.pair_id), each_annotator=False)
    session.offer(ids, batch=1, batches=1)
    from irlkit.feedback.clips import ClipPair

    for pid in ids:
        session.clip_ready(
            ClipPair(
                pair_id=pid,
                left=f"{pid}-L.mp4",
                right=f"{pid}-R.mp4",
                frames=13,
                fps=25.0,
                render_s=0.0,
                queued_at=time.monotonic(),
            )
        )
    other = run_cli(
        [
            "-c",
            "import sys; from irlkit.store.preferences import open_preferences; "
            "ds = open_preferences(sys.argv[1]); ds.add_label(sys.argv[2], 'right', 'elsewhere', source='cli')",
            str(ds.path),
            ids[0],
        ]
    )
    assert other.returncode == 0, other.stderr
    nxt = session.next_pair("alice", 0)
    assert nxt["state"] == "pair" and nxt["pair"]["pair_id"] == ids[1], "a pair labelled elsewhere was asked"
    session.submit(ids[1], "left", "alice")
    ds.__class__.open(ds.path).add_label(ids[2], "equal", "bob", source="test")  # another writer, while waiting
    t0 = time.monotonic()
    assert session.wait_labels(ids, timeout=10) == {ids[0]: "right", ids[1]: "left", ids[2]: "equal"}
    assert time.monotonic() - t0 < 3 and session.labels_from_elsewhere == 2
    assert session.next_pair("alice", 0)["state"] == "waiting"


def test_server_serves_page_clips_and_byte_ranges(serving):
    url, _, ids, _ = serving
    with urllib.request.urlopen(url) as r:
        page = r.read().decode()
    for text in ("Left is better", "Right is better", "Equal", "Can't tell", "<kbd>"):
        assert text in page
    status, nxt = request(url + "api/next?annotator=carol&wait=20")
    assert status == 200 and nxt["state"] == "pair", nxt
    pair = nxt["pair"]
    assert pair["pair_id"] == ids[0] and pair["frames"] == 13  # 12 steps -> 13 observations
    for side in ("left", "right"):
        with urllib.request.urlopen(url + pair[side].lstrip("/")) as r:
            data = r.read()
            assert r.headers["Content-Type"] == "video/mp4" and data[4:8] == b"ftyp"
        req = urllib.request.Request(url + pair[side].lstrip("/"), headers={"Range": "bytes=0-99"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 206 and len(r.read()) == 100 and r.headers["Content-Range"].endswith(f"/{len(data)}")


def test_server_binds_loopback_only(tmp_path: Path):
    assert check_loopback("127.0.0.1") == "127.0.0.1"
    assert check_loopback("localhost") == "127.0.0.1"
    for host in ("0.0.0.0", "192.168.1.10", "example.org", "::"):
        with pytest.raises(IrlkitError, match="binds to this machine only"):
            check_loopback(host)
    ds, _ = queued(tmp_path / "store", 1)
    from irlkit.feedback.session import LabelSession

    session = LabelSession(ds, lambda job: None, each_annotator=True)
    with pytest.raises(IrlkitError):
        LabelServer(session, tmp_path, host="0.0.0.0", port=0)
    server = LabelServer(session, tmp_path, port=0)
    try:  # a second server on a busy port gets a message naming the fix, not a traceback
        with pytest.raises(IrlkitError, match="feedback.port"):
            LabelServer(session, tmp_path, port=server.server_address[1])
    finally:
        server.server_close()


def test_concurrent_labels_for_one_pair_one_wins(tmp_path: Path):
    """Two tabs answering the same pair of a training run at once: exactly one label is kept."""
    ds, ids = queued(tmp_path / "store", 1)
    session, server, worker = start_labelling(
        ds,
        load_env_config("cartpole"),
        tmp_path / "clips",
        each_annotator=False,
        annotator=None,
        host="127.0.0.1",
        port=0,
        quiet=True,
    )
    try:
        session.offer(ids, batch=1, batches=1)
        results: list[int] = []
        barrier = threading.Barrier(8)

        def go(k: int) -> None:
            barrier.wait()
            results.append(post_label(server.url, {"pair_id": ids[0], "label": "left", "annotator": f"tab{k}"})[0])

        threads = [threading.Thread(target=go, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200] + [409] * 7
        assert len(open_preferences(str(ds.path)).labels()) == 1
    finally:
        server.stop()
        worker.close()


# --------------------------------------------------------------------------------------------
# the preference dataset: crash safety and resumption
# --------------------------------------------------------------------------------------------
def test_preference_dataset_round_trip_and_refusals(tmp_path: Path):
    root = tmp_path / "store"
    pairs = cartpole_pairs(3)
    ds = new_dataset(root)
    ids = ds.add_pairs([(to_fragment(a), to_fragment(b)) for a, b in pairs], run="r1", iteration=2)
    again = open_preferences("prefs", root=root)
    for pid, (a, b) in zip(ids, pairs, strict=True):
        left, right = again.fragments(pid)
        np.testing.assert_allclose(left.obs, a.obs, rtol=1e-6)
        np.testing.assert_array_equal(right.acts, b.acts)
        np.testing.assert_allclose(left.rews, a.rews)
        rec = again.pair(pid)
        assert (rec.run, rec.iteration, rec.length, rec.return_left) == ("r1", 2, 12, float(np.sum(a.rews)))
    again.verify_checksums()
    with pytest.raises(StoreError, match="pseudonym"):
        ds.add_label(ids[0], "left", "Jane Doe")
    with pytest.raises(StoreError, match="not one of"):
        ds.add_label(ids[0], "better", "jane")
    with pytest.raises(StoreError, match="no pair"):
        ds.add_label("f" * 16, "left", "jane")
    ds.add_label(ids[0], "skip", "jane")
    with pytest.raises(LabelConflict):
        ds.add_label(ids[0], "left", "jane")
    ds.add_label(ids[0], "left", "jane", round=1)  # asked again: the later round is the answer
    assert ds.latest_labels()[(ids[0], "jane")].label == "left"
    with pytest.raises(StoreError, match="demos dataset"):
        PreferenceDataset.open(REPO / "demos" / "cartpole_expert")
    with pytest.raises(StoreError, match="no preference dataset named"):
        open_preferences("nope", root=root)


_WRITER = r"""
import sys
from irlkit.store.preferences import open_preferences
ds = open_preferences(sys.argv[1])
done = {r.pair_id for r in ds.labels()}      # resume: never label a pair twice
for k, pid in enumerate(p.pair_id for p in ds.pairs()):
    if pid in done:
        continue
    ds.add_label(pid, ("left", "right", "equal", "skip")[k % 4], "writer")
    print(pid, flush=True)          # acknowledged: it must survive the kill
"""


def test_labels_survive_sigkill(tmp_path: Path):
    """Kill a labelling process at random points: every acknowledged label is there, nothing is damaged."""
    ds, ids = queued(tmp_path / "store", 200)
    acknowledged: set[str] = set()
    for kill_after in (3, 40, 90):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(ds.path)], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert proc.stdout is not None
        seen = 0
        for line in proc.stdout:
            acknowledged.add(line.strip())
            seen += 1
            if seen >= kill_after:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait()
        after = open_preferences(str(ds.path))
        stored = {r.pair_id for r in after.labels()}
        assert acknowledged <= stored
        # each pair labelled at most once, and every label file reads back whole
        assert len(after.labels()) == len(stored)
        for path in (ds.path / "labels").iterdir():  # no half-written label where readers look
            json.loads(path.read_text())
    assert len(acknowledged) >= 3 + 40 + 90
    after.add_label(ids[-1], "left", "other")  # the dataset stays writable


def test_gatherer_resumes_from_stored_labels(tmp_path: Path):
    """A restarted run is asked only what it was not answered before, and trains on the same pairs."""
    from imitation.algorithms import preference_comparisons as pc

    ds = new_dataset(tmp_path / "store")
    fresh = cartpole_pairs(3, seed=1)
    offered: list[list[str]] = []

    def run_round(labels: list[str]) -> tuple[HumanPreferenceGatherer, Any]:
        session, server, worker = start_labelling(
            ds,
            load_env_config("cartpole"),
            tmp_path / "clips",
            each_annotator=False,
            annotator="ann",
            host="127.0.0.1",
            port=0,
            quiet=True,
        )
        original_offer = session.offer

        def offer(pair_ids, **kw):
            offered.append(list(pair_ids))
            original_offer(pair_ids, **kw)

        session.offer = offer  # type: ignore[method-assign]
        gatherer = HumanPreferenceGatherer(session=session, dataset=ds, run="run-x", rounds=2, url=server.url)
        target = pc.PreferenceDataset()
        comparisons = type("PC", (), {"dataset": target})()
        gatherer.attach(comparisons)  # type: ignore[arg-type]

        def answer() -> None:
            for label in labels:
                while True:
                    nxt = session.next_pair("ann", 5)
                    if nxt["state"] == "pair":
                        session.submit(nxt["pair"]["pair_id"], label, "ann")
                        break

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        out = gatherer(fresh)
        t.join(timeout=30)
        server.stop()
        worker.close()
        assert np.isnan(out).all() and out.shape == (3,)  # imitation's own push adds nothing
        return gatherer, comparisons.dataset

    # first run: only two of three answered before the "crash" (third label given directly, later)
    ds_first_ids = None
    gatherer, target = run_round(["left", "skip", "right"])
    ds_first_ids = offered[0]
    assert len(target) == 2 and list(target.preferences) == [1.0, 0.0]  # the skip is dropped
    # restart: same run key -> the stored pairs, no questions
    gatherer2, target2 = run_round([])
    assert offered[1:] == [], "nothing may be asked again"
    assert list(target2.preferences) == [1.0, 0.0]
    np.testing.assert_allclose(target2.fragments1[0].obs, ds.fragments(ds_first_ids[0])[0].obs)
    assert gatherer2.answered == 2 and gatherer2.skipped == 1


def test_the_page_asks_the_most_informative_pairs_first(tmp_path: Path):
    """`algo.query=disagreement` ranks a query's pairs; the person is shown them in that order."""
    import torch as th

    from irlkit.algos.preference.queries import InformativeFragmenter, member_fragment_returns

    class Lean(th.nn.Module):  # reward = w * pole angle: members +w and -w disagree on angle gaps
        def __init__(self, w: float):
            super().__init__()
            self.w = w

        def preprocess(self, state, action, next_state, done):
            return th.as_tensor(state), th.as_tensor(action), th.as_tensor(next_state), th.as_tensor(done)

        def forward(self, state, action, next_state, done):
            return self.w * state[:, 2]

    from imitation.data import rollout

    venv = make_venv(load_env_config("cartpole"), seed=0, n_envs=1)
    venv.action_space.seed(0)  # the random policy samples from it: the same episodes every time
    trajs = rollout.generate_trajectories(
        None, venv, rollout.make_sample_until(min_timesteps=400), rng=np.random.default_rng(0)
    )
    venv.close()
    members = [Lean(0.5), Lean(-0.5)]
    fragmenter = InformativeFragmenter(
        "disagreement",
        rng=np.random.default_rng(0),
        candidates=5,
        member_returns=lambda fs: member_fragment_returns(members, fs),
    )
    pairs = fragmenter(trajs, 12, 4)
    scores = list(fragmenter.last_scores)
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]

    ds = new_dataset(tmp_path / "store")
    session, server, worker = start_labelling(
        ds,
        load_env_config("cartpole"),
        tmp_path / "clips",
        each_annotator=False,
        annotator="ann",
        host="127.0.0.1",
        port=0,
        quiet=True,
    )
    shown: list[str] = []
    try:
        gatherer = HumanPreferenceGatherer(session=session, dataset=ds, run="run-order", rounds=1, url=server.url)
        gatherer.attach(type("Trainer", (), {"dataset": SkippablePreferenceDataset()})())

        def answer() -> None:
            while len(shown) < len(pairs):
                nxt = session.next_pair("ann", 5)
                if nxt["state"] == "pair":
                    shown.append(nxt["pair"]["pair_id"])
                    session.submit(nxt["pair"]["pair_id"], "left", "ann")

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        gatherer(pairs)
        t.join(timeout=30)
    finally:
        server.stop()
        worker.close()
    for (left, _), pid in zip(pairs, shown, strict=True):
        np.testing.assert_allclose(ds.fragments(pid)[0].obs, left.obs)  # shown in the ranked order


def test_gatherer_asks_again_when_every_first_pair_is_skipped(tmp_path: Path):
    ds = new_dataset(tmp_path / "store")
    session, server, worker = start_labelling(
        ds,
        load_env_config("cartpole"),
        tmp_path / "clips",
        each_annotator=False,
        annotator=None,
        host="127.0.0.1",
        port=0,
        quiet=True,
    )
    try:
        gatherer = HumanPreferenceGatherer(session=session, dataset=ds, run="run-y", rounds=3, url=server.url)
        comparisons = type("PC", (), {"dataset": SkippablePreferenceDataset()})()
        gatherer.attach(comparisons)  # type: ignore[arg-type]
        answers = iter(["skip", "skip", "skip", "equal"])

        def answer() -> None:
            for label in answers:
                while True:
                    nxt = session.next_pair("p1", 5)
                    if nxt["state"] == "pair":
                        session.submit(nxt["pair"]["pair_id"], label, "p1")
                        break

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        gatherer(cartpole_pairs(2))
        t.join(timeout=30)
        assert list(comparisons.dataset.preferences) == [0.5]  # round 1: one answer, one skip dropped
        rounds = sorted((r.label, r.round) for r in ds.labels())
        assert rounds == [("equal", 1), ("skip", 0), ("skip", 0), ("skip", 1)]
        assert session.progress()["state"] == "waiting"
    finally:
        server.stop()
        worker.close()


def test_skippable_dataset_keeps_shapes():
    pairs = cartpole_pairs(4)
    ds = SkippablePreferenceDataset()
    ds.push(pairs, np.array([1.0, np.nan, 0.5, 0.0], dtype=np.float32))
    assert len(ds) == 3 and list(ds.preferences) == [1.0, 0.5, 0.0]
    ds.push(pairs[:2], np.array([np.nan, np.nan], dtype=np.float32))
    assert len(ds) == 3
    with pytest.raises(ValueError, match="shape"):
        ds.push(pairs, np.array([1.0], dtype=np.float32))


# --------------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------------
def test_cohen_kappa_matches_hand_computed_values():
    # Cohen's textbook 2x2 table: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    a = ["left"] * 25 + ["right"] * 25
    b = ["left"] * 20 + ["right"] * 5 + ["left"] * 10 + ["right"] * 15
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    # three categories: p_o = 4/5; p_e = .6*.8 + .2*0 + .2*.2 = .52; kappa = .28/.48
    assert cohen_kappa(
        ["left", "right", "left", "equal", "left"], ["left", "left", "left", "equal", "left"]
    ) == pytest.approx(0.28 / 0.48)
    assert cohen_kappa(["left", "right"], ["left", "right"]) == pytest.approx(1.0)
    assert cohen_kappa(["left", "right"], ["right", "left"]) == pytest.approx(-1.0)
    assert math.isnan(cohen_kappa(["left", "left"], ["left", "left"]))  # chance agreement is 1: undefined
    assert math.isnan(cohen_kappa([], []))
    with pytest.raises(ValueError):
        cohen_kappa(["left"], [])


def test_stats_per_annotator_and_agreement_on_shared_pairs(tmp_path: Path, store_root: Path):
    ds, ids = queued(store_root, 6, name="shared")
    alice = ["left", "right", "left", "equal", "skip", "left"]
    bob = ["left", "left", "left", "equal", "right", "left"]
    for pid, la, lb in zip(ids, alice, bob, strict=True):
        ds.add_label(pid, la, "alice", source="test")
        ds.add_label(pid, lb, "bob", source="test")
    ds.add_label(ids[0], "right", "carol", source="test")  # shares one pair with each
    rows = {r["annotator"]: r for r in annotator_stats(ds)}
    assert (rows["alice"]["labels"], rows["alice"]["left"], rows["alice"]["skip"]) == (6, 3, 1)
    assert rows["alice"]["skip_rate"] == pytest.approx(1 / 6)
    pairs = {(r["a"], r["b"]): r for r in agreement(ds)}
    ab = pairs[("alice", "bob")]
    assert (
        ab["shared_pairs"] == 5 and ab["agreement"] == pytest.approx(0.8) and ab["kappa"] == pytest.approx(0.28 / 0.48)
    )
    assert pairs[("alice", "carol")]["shared_pairs"] == 1
    cli = run_cli(["-m", "irlkit.feedback", "stats", "shared", "--json"])
    assert cli.returncode == 0, cli.stderr
    data = json.loads(cli.stdout)
    assert data["summary"]["labels"] == 13
    assert {(r["a"], r["b"]): r["kappa"] for r in data["agreement"]}[("alice", "bob")] == pytest.approx(
        0.58333, abs=1e-4
    )
    from irlkit.feedback.stats import format_stats

    table = format_stats(ds)
    assert "alice / bob" in table and "0.58" in table and "80%" in table
    missing = run_cli(["-m", "irlkit.feedback", "stats", "nope"])
    assert missing.returncode == 2 and "no preference dataset named 'nope'" in missing.stderr


# --------------------------------------------------------------------------------------------
# training from saved labels, and a whole human-in-the-loop run over HTTP
# --------------------------------------------------------------------------------------------
TINY = [
    "algo=preference",
    "algo.budget=1024",
    "algo.pretrain_steps=0",
    "algo.dqn.learning_starts=200",
    "algo.label_curve_episodes=0",
    "algo.num_iterations=2",
    "algo.total_comparisons=6",
    "algo.initial_comparison_frac=0.34",
    "algo.fragment_length=10",
    "eval.episodes=2",
    "eval.curve_points=0",
    "progress=false",
]


@pytest.mark.slow
def test_dataset_feedback_trains_from_saved_labels_filtered_by_annotator(tmp_path: Path, store_root: Path):
    from irlkit.feedback.dataset_gatherer import DatasetPreferenceGatherer

    ds, ids = queued(store_root, 6, name="saved")
    for pid, label in zip(ids, ["left", "right", "skip", "equal", "left", "right"], strict=True):
        ds.add_label(pid, label, "alice", source="test")
    for pid in ids[:2]:
        ds.add_label(pid, "right", "bob", source="test")
    assert len(DatasetPreferenceGatherer(ds).pairs) == 7  # 5 of alice's (one skip) + 2 of bob's
    only_bob = DatasetPreferenceGatherer(ds, annotators=["bob"])
    assert list(only_bob.preferences) == [0.0, 0.0]
    with pytest.raises(IrlkitError, match="no answered pairs from annotators"):
        DatasetPreferenceGatherer(ds, annotators=["nobody"])

    run_dir = tmp_path / "run"
    proc = run_cli(
        [
            "-m",
            "irlkit",
            *TINY,
            "feedback=dataset",
            "feedback.dataset=saved",
            "feedback.annotators=[alice]",
            f"hydra.run.dir={run_dir}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "training on 5 saved comparisons from 'saved' (alice)" in proc.stderr
    assert (run_dir / "reward_net.pt").exists() and (run_dir / "eval.json").exists()
    missing = run_cli(["-m", "irlkit", *TINY, "feedback=dataset", f"hydra.run.dir={tmp_path / 'run2'}"])
    assert missing.returncode != 0 and "feedback.dataset" in missing.stderr


@pytest.mark.slow
def test_human_run_over_http_finishes_and_stores_every_label(tmp_path: Path, store_root: Path):
    """`python -m irlkit algo=preference feedback=human` driven through the JSON API (no browser)."""
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "irlkit",
        *TINY,
        "feedback=human",
        "feedback.port=0",
        "feedback.annotator=tester",
        "feedback.dataset=live",
        f"hydra.run.dir={run_dir}",
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    output: list[str] = []
    url = None
    for line in proc.stdout:
        output.append(line)
        m = re.search(r"Open the labelling page: (\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "".join(output)
    threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
    labels = ["left", "skip", "right", "equal", "left", "right"]
    given: list[tuple[str, str]] = []
    deadline = time.time() + 150
    while time.time() < deadline:
        status, nxt = request(url + "api/next?annotator=tester&wait=10")
        assert status == 200, nxt
        if nxt["state"] == "done":
            break
        if nxt["state"] == "pair":
            label = labels[len(given) % len(labels)]
            status, body = post_label(url, {"pair_id": nxt["pair"]["pair_id"], "label": label, "annotator": "tester"})
            assert status == 200, body
            given.append((nxt["pair"]["pair_id"], label))
    assert proc.wait(timeout=120) == 0, "".join(output)[-3000:]
    assert len(given) == 6  # query schedule [2, 3, 1]
    stored = open_preferences("live", root=store_root)
    assert sorted((r.pair_id, r.label, r.annotator) for r in stored.labels()) == sorted(
        (p, lab, "tester") for p, lab in given
    )
    assert len(stored.pairs()) == 6 and {p.iteration for p in stored.pairs()} == {0, 1, 2}
    assert (run_dir / "reward_net.pt").exists() and (run_dir / "eval.json").exists()
    assert any(f.suffix == ".mp4" for f in (run_dir / "clips").iterdir())
    text = "".join(output)
    assert "round 3/3: 1/1 labelled (tester: right)" in text and "5 answers, 1 skipped" in text


def test_clips_show_the_env_itself_where_it_can_be_reposed():
    """CartPole and MountainCar frames are the env's renderer in the observed state, not charts."""
    from irlkit.feedback.clips import FrameRenderer, chart_frame

    for name in ("cartpole", "mountain_car"):
        renderer = FrameRenderer(load_env_config(name))
        try:
            assert renderer.exact, f"{name} fell back to observation charts"
            obs, _ = renderer._env.reset(seed=3)
            moved = np.array(obs, dtype=np.float64)
            moved[0] += 0.5 if name == "cartpole" else -0.4  # cart position / car position
            a, b = renderer.frames(np.stack([obs, moved]))
            assert a.shape == b.shape and a.shape[0] % 2 == 0 and a.shape[1] % 2 == 0
            assert np.abs(a.astype(int) - b.astype(int)).sum() > 0, "a different state must draw a different frame"
        finally:
            renderer.close()
    # seals' CartPole never ends an episode: a cart far off the track is drawn at the edge, marked red
    renderer = FrameRenderer(load_env_config("cartpole"))
    try:
        (far_right,) = renderer.frames(np.array([[10.0, 0.0, 0.1, 0.0]]))
        assert (far_right[:, -3] == (220, 40, 40)).all() and not (far_right[:, 3] == (220, 40, 40)).all()
        assert (far_right[:, :-6] < 100).any(), "the cart is still drawn"
    finally:
        renderer.close()
    bars = chart_frame(np.array([0.0, 1.0]), np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    assert bars.shape == (200, 300, 3) and (bars[:, :150] != bars[:, 150:]).any()


def _start_human_run(run_dir: Path, *extra: str) -> tuple[subprocess.Popen, str, list[str]]:
    cmd = [
        sys.executable,
        "-m",
        "irlkit",
        *TINY,
        "feedback=human",
        "feedback.port=0",
        "feedback.annotator=tester",
        "feedback.dataset=restart",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    output: list[str] = []
    for line in proc.stdout:
        output.append(line)
        m = re.search(r"Open the labelling page: (\S+)", line)
        if m:
            threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
            return proc, m.group(1), output
    proc.wait()
    raise AssertionError("".join(output)[-3000:])


def _label_some(url: str, n: int, label: str) -> list[str]:
    done: list[str] = []
    deadline = time.time() + 120
    while len(done) < n and time.time() < deadline:
        status, nxt = request(url + "api/next?annotator=tester&wait=10")
        if nxt.get("state") == "done":
            break
        if nxt.get("state") == "pair":
            assert post_label(url, {"pair_id": nxt["pair"]["pair_id"], "label": label, "annotator": "tester"})[0] == 200
            done.append(nxt["pair"]["pair_id"])
    return done


@pytest.mark.slow
def test_killed_human_run_resumes_from_its_labels(tmp_path: Path, store_root: Path):
    """SIGKILL mid-round, run the same command again: nothing labelled is asked again."""
    proc, url, output = _start_human_run(tmp_path / "run1")
    first = _label_some(url, 3, "left")  # round 1 (2 pairs) and one pair of round 2
    assert len(first) == 3
    proc.kill()
    proc.wait()
    stored = open_preferences("restart", root=store_root)
    assert {r.pair_id for r in stored.labels()} == set(first)
    round2 = [p.pair_id for p in stored.pairs(iteration=1)]
    assert len(round2) == 3 and first[2] in round2

    proc, url, output = _start_human_run(tmp_path / "run2")
    second = _label_some(url, 10, "right")
    assert proc.wait(timeout=120) == 0, "".join(output)[-3000:]
    assert "resuming round 1/3: 2 pairs stored, 2 already labelled" in "".join(output)
    assert "resuming round 2/3: 3 pairs stored, 1 already labelled" in "".join(output)
    assert not set(first) & set(second), "a labelled pair was asked again"
    assert set(second[:2]) == set(round2) - {first[2]} and len(second) == 3
    stored.refresh()
    assert len(stored.pairs()) == 6 and len(stored.labels()) == 6


def test_server_survives_a_body_that_never_arrives(serving, monkeypatch: pytest.MonkeyPatch):
    from irlkit.feedback import server as server_module

    monkeypatch.setattr(server_module._Handler, "timeout", 1)
    url, ds, ids, _ = serving
    t0 = time.time()
    status, body = request(
        url + "api/label", "POST", b'{"pair_id": "', {"Content-Type": "application/json", "Content-Length": "100"}
    )
    assert status == 408 and "did not arrive" in body["error"]
    assert time.time() - t0 < 10
    assert post_label(url, {"pair_id": ids[1], "label": "right", "annotator": "dan"})[0] == 200
    assert [r.label for r in open_preferences(str(ds.path)).labels()] == ["right"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "env, length, expected",
    [
        ("cartpole", 2000, "ends after at most 500 steps"),  # seals: a fixed 500-step horizon
        ("CartPole-v1", 400, "longer than every episode the random policy played"),  # ends early, at random
    ],
)
def test_queue_refuses_fragments_longer_than_an_episode(env: str, length: int, expected: str, store_root: Path):
    proc = run_cli(
        ["-m", "irlkit.feedback", "queue", "too_long", "--env", env, "--pairs", "2", "--fragment-length", str(length)]
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("irlkit.feedback: error:")]
    assert len(errors) == 1 and expected in errors[0] and "Give --fragment-length" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (store_root / "too_long").exists()
