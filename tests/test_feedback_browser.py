"""The labelling page in a real browser against a real (tiny) training run.

Headless Chromium (Debian's `chromium`, driven by Playwright) opens the page of
`python -m irlkit algo=preference feedback=human`, enters an alias, watches both clips play, and
answers every pair with the buttons and the keyboard shortcuts, through the waiting state between
rounds to the done state. Then the run must have finished and every label must be in the store.
Skipped, with the reason, when chromium or playwright is not installed (CI installs both:
`.ci/apt-packages.txt`, the `test` extra).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO
from irlkit.store.preferences import open_preferences

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install 'irlkit[test]')")
if CHROMIUM is None:
    pytest.skip(
        "chromium is not installed (apt-get install chromium; listed in .ci/apt-packages.txt)", allow_module_level=True
    )

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

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


def start_run(run_dir: Path, *extra: str) -> tuple[subprocess.Popen, str, list[str]]:
    cmd = [
        sys.executable,
        "-m",
        "irlkit",
        *TINY,
        "feedback=human",
        "feedback.port=0",
        "feedback.dataset=browser_prefs",
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
    raise AssertionError("the run never printed its URL:\n" + "".join(output)[-3000:])


@pytest.mark.slow
def test_full_labelling_session_in_chromium(tmp_path: Path, store_root: Path):
    proc, url, output = start_run(tmp_path / "run")
    answers = [
        ("click", "left"),
        ("key", "ArrowRight"),
        ("key", "s"),
        ("click", "equal"),
        ("key", "a"),
        ("click", "right"),
    ]
    expected = {"left": "left", "right": "right", "equal": "equal", "ArrowRight": "right", "s": "skip", "a": "left"}
    given: list[tuple[str, str]] = []
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            # no alias configured for the run: the page asks for one, and refuses a real-looking name
            page.wait_for_selector("#alias-input", state="visible")
            page.fill("#alias-input", "jane doe")
            page.click("#alias button[type=submit]")
            assert "letters, digits" in page.inner_text("#alias-error")
            page.fill("#alias-input", "browser-tester")
            page.click("#alias button[type=submit]")
            assert page.inner_text("#alias-shown") == "browser-tester"

            for how, what in answers:
                page.wait_for_selector('#pair[data-ready="1"]', timeout=120_000)
                pair_id = page.get_attribute("#pair", "data-pair-id")
                assert pair_id
                # both clips are real H.264 videos that the browser decodes, loops and plays in step
                info = page.evaluate("""() => [...document.querySelectorAll('#pair video')].map(v => {
                    const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
                    const g = c.getContext('2d'); g.drawImage(v, 0, 0);
                    const d = g.getImageData(0, 0, c.width, c.height).data; let drawn = 0;
                    for (let k = 0; k < d.length; k += 4) if (d[k] < 128 || d[k + 1] < 128) drawn++;
                    return {ready: v.readyState, loop: v.loop, duration: v.duration, w: v.videoWidth, drawn,
                            err: v.error && v.error.code}; })""")
                assert len(info) == 2 and all(
                    v["ready"] >= 2 and v["loop"] and v["w"] > 0 and v["err"] is None for v in info
                ), info
                assert all(v["drawn"] > 50 for v in info), f"a clip shows nothing (cart or pole not drawn): {info}"
                assert info[0]["duration"] == pytest.approx(info[1]["duration"])
                assert re.search(r"Iteration \d of 3", page.inner_text("#batch"))
                assert re.search(r"Labelled \d+ of \d+", page.inner_text("#count"))
                if how == "click":
                    page.click(f'.buttons button[data-label="{what}"]')
                else:
                    page.keyboard.press(what)
                given.append((pair_id, expected[what]))
                # the answer is acknowledged (the pair leaves the page) before the next one shows
                page.wait_for_function(f"document.querySelector('#pair').dataset.pairId !== '{pair_id}'")
            page.wait_for_function("document.body.dataset.state === 'done'", timeout=120_000)
            assert "Done" in page.inner_text("#status")
            browser.close()
        assert proc.wait(timeout=120) == 0, "".join(output)[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    stored = open_preferences("browser_prefs", root=store_root)
    assert sorted((r.pair_id, r.label, r.annotator) for r in stored.labels()) == sorted(
        (p, label, "browser-tester") for p, label in given
    )
    assert (tmp_path / "run" / "reward_net.pt").exists() and (tmp_path / "run" / "eval.json").exists()
    assert "5 answers, 1 skipped" in "".join(output)


@pytest.mark.slow
def test_keyboard_shortcuts_are_shown_on_the_page(tmp_path: Path, store_root: Path):
    """What a person reads before answering: the four buttons with their keys, and the waiting state."""
    proc, url, output = start_run(
        tmp_path / "run",
        "feedback.annotator=kb",
        "algo.num_iterations=1",
        "algo.total_comparisons=2",
        "algo.initial_comparison_frac=0.5",
    )
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            t0 = time.time()
            page.goto(url)
            # the alias is fixed by the run: no form, and it cannot be changed on the page
            assert page.inner_text("#alias-shown") == "kb" or page.wait_for_function(
                "document.getElementById('alias-shown').textContent === 'kb'"
            )
            assert not page.is_visible("#alias-input")
            for label, keys in (
                ("Left is better", ("←", "A")),
                ("Right is better", ("→", "D")),
                ("Equal", ("↑", "W")),
                ("Can't tell", ("↓", "S")),
            ):
                text = page.locator(".buttons button", has_text=label).inner_text()
                assert all(k in text for k in keys), text
            page.wait_for_selector('#pair[data-ready="1"]', timeout=120_000)
            for _ in range(2):
                page.wait_for_selector('#pair[data-ready="1"]', timeout=120_000)
                pid = page.get_attribute("#pair", "data-pair-id")
                page.keyboard.press("ArrowLeft")
                page.wait_for_function(f"document.querySelector('#pair').dataset.pairId !== '{pid}'")
            page.wait_for_function("document.body.dataset.state === 'done'", timeout=120_000)
            browser.close()
        assert proc.wait(timeout=120) == 0, "".join(output)[-3000:]
        assert time.time() - t0 < 120
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [r.label for r in open_preferences("browser_prefs", root=store_root).labels()] == ["left", "left"]


@pytest.mark.slow
def test_a_foreign_page_in_the_same_browser_can_neither_label_nor_read_the_token(tmp_path: Path):
    """Another site open in the same Chromium tries what it can: a simple cross-origin POST (no
    preflight), reading the page for its token, an API call with a guessed token. What the token
    design rests on is checked here in a real browser: the page (and so the token) cannot be read
    cross-origin, and a request with the token header cannot be sent (it needs a CORS preflight,
    which the server refuses); the POST that can be sent is refused (no token, foreign Origin)."""
    import http.server

    from test_feedback import queued

    from irlkit.envs import load_env_config
    from irlkit.feedback.gatherer import start_labelling

    ds, ids = queued(tmp_path / "store", 2)
    session, server, worker = start_labelling(
        ds,
        load_env_config("cartpole"),
        tmp_path / "clips",
        each_annotator=True,
        annotator=None,
        host="127.0.0.1",
        port=0,
        quiet=True,
    )
    session.offer(ids)
    target = server.url
    label = '{"pair_id": "%s", "label": "left", "annotator": "mallory"}' % ids[0]
    evil_page = f"""<!doctype html><html><body><script>
    window.results = (async () => {{
      const out = {{}};
      try {{ await fetch("{target}api/label", {{method: "POST", mode: "no-cors", body: '{label}',
                                               headers: {{"Content-Type": "text/plain"}}}}); out.post = "sent"; }}
      catch (e) {{ out.post = "blocked"; }}
      try {{ const r = await fetch("{target}"); out.page = (await r.text()).slice(0, 50); }}
      catch (e) {{ out.page = "blocked"; }}
      try {{ const r = await fetch("{target}api/state", {{headers: {{"X-Irlkit-Token": "guess"}}}}); out.api = r.status; }}
      catch (e) {{ out.api = "blocked"; }}
      return out;
    }})();
    </script></body></html>""".encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(evil_page)))
            self.end_headers()
            self.wfile.write(evil_page)

        def log_message(self, *args):
            pass

    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
            results = page.evaluate("window.results")
            browser.close()
    finally:
        evil.shutdown()
        server.stop()
        worker.close()
    assert results == {"post": "sent", "page": "blocked", "api": "blocked"}, results
    assert open_preferences(str(ds.path)).labels() == [], f"the foreign page's label was stored ({results})"
