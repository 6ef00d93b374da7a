// The labelling page: long-polls /api/next for the next pair, plays both clips, posts the answer.
// State is mirrored on <body data-state="..."> and #pair[data-pair-id] so tests and people see the same thing.
// Every API call carries the session token the server wrote into this page (server.py says why).
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN = document.querySelector('meta[name="irlkit-token"]').content;
function api(url, options = {}) {
  return fetch(url, { cache: "no-store", ...options, headers: { ...(options.headers || {}), "X-Irlkit-Token": TOKEN } });
}
function reloadForNewToken(body) {
  // the server restarted (a resumed run): this page's token is stale; the reloaded page has the new one
  if (!body || !body.reload) return false;
  setState("offline", "The labelling server restarted; reloading the page…", "error");
  setTimeout(() => location.reload(), 1000);
  return true;
}
const KEYS = { ArrowLeft: "left", a: "left", A: "left", ArrowRight: "right", d: "right", D: "right",
               ArrowUp: "equal", w: "equal", W: "equal", ArrowDown: "skip", s: "skip", S: "skip" };
const ALIAS_RE = /^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$/;
window.irlkitReady = {};            // pair id -> Date.now() when both clips could play (latency bench)

let alias = null, fixedAlias = null, current = null, busy = false, polling = false;

function setState(state, text, cls) {
  document.body.dataset.state = state;
  const s = $("status");
  s.textContent = text || "";
  s.className = "status" + (cls ? " " + cls : "");
  s.hidden = !text;
}

function showProgress(p) {
  if (!p) return;
  $("batch").textContent = p.batch ? `Iteration ${p.batch} of ${p.batches}` : "";
  $("count").textContent = p.asked ? `Labelled ${p.labelled} of ${p.asked}` + (p.batch ? " in this iteration" : "") : "";
  $("total").textContent = `${p.total_labels} labels this session`;
  if (p.annotator) fixedAlias = p.annotator;
}

function clipElement(url, onReady) {
  const isVideo = url.endsWith(".mp4");
  const el = document.createElement(isVideo ? "video" : "img");
  if (isVideo) {
    Object.assign(el, { autoplay: true, loop: true, muted: true, playsInline: true, preload: "auto" });
    el.addEventListener("loadeddata", onReady, { once: true });
  } else {
    el.alt = "clip";
    el.addEventListener("load", onReady, { once: true });
  }
  el.src = url;
  return el;
}

function showPair(pair) {
  current = pair;
  const box = $("pair");
  box.dataset.pairId = pair.pair_id;
  box.dataset.ready = "0";
  $("left-box").replaceChildren();
  $("right-box").replaceChildren();
  $("pair-error").textContent = pair.error || "";
  let loaded = 0;
  const ready = () => {
    loaded += 1;
    if (loaded === 2) {
      box.dataset.ready = "1";
      window.irlkitReady[pair.pair_id] = Date.now();
      // restart both together so they loop in step
      document.querySelectorAll("#pair video").forEach((v) => { v.currentTime = 0; v.play().catch(() => {}); });
    }
  };
  if (pair.left) {
    $("left-box").append(clipElement(pair.left, ready));
    $("right-box").append(clipElement(pair.right, ready));
  }
  box.hidden = false;
  setButtons(true);
  setState("labelling", pair.round ? "Every pair so far was skipped; the reward model needs at least one answer to start. Please answer if you can." : "", "");
}

function hidePair() {
  current = null;
  $("pair").hidden = true;
  $("pair").dataset.pairId = "";
  $("left-box").replaceChildren();
  $("right-box").replaceChildren();
}

function setButtons(on) {
  document.querySelectorAll(".buttons button").forEach((b) => { b.disabled = !on; });
}

async function poll() {
  if (polling) return;
  polling = true;
  try {
    while (alias) {
      if (current) { await sleep(50); continue; }
      let res;
      try {
        const known = encodeURIComponent(document.body.dataset.state || "");
        res = await api(`/api/next?annotator=${encodeURIComponent(alias)}&wait=20&known=${known}`);
      } catch (err) {
        setState("offline", "Lost the connection to the training run (has it stopped?). Retrying…", "error");
        await sleep(2000);
        continue;
      }
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        if (reloadForNewToken(body)) return;
        setState("error", body.error || `server answered ${res.status}`, "error");
        if (res.status === 400 || res.status === 403) { askAlias(body.error); return; }
        await sleep(2000);
        continue;
      }
      showProgress(body.progress);
      if (body.state === "pair") { showPair(body.pair); continue; }
      hidePair();
      const msg = body.progress && body.progress.message;
      if (body.state === "done") { setState("done", msg || "Done: training has every label it asked for. You can close this page.", "done"); return; }
      if (body.state === "finished") setState("finished", "You have labelled every pair in this queue. Thank you! New pairs will appear here if more are added.", "done");
      else if (body.state === "rendering") setState("rendering", "Preparing the clips of the next pair…");
      else setState("waiting", msg || "Waiting for the next batch of pairs: the agent is training.");
    }
  } finally {
    polling = false;
  }
}

async function answer(label) {
  if (!current || busy) return;
  busy = true;
  setButtons(false);
  const pair = current;
  try {
    const res = await api("/api/label", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pair_id: pair.pair_id, label, annotator: alias }),
    });
    const body = await res.json().catch(() => ({}));
    if (reloadForNewToken(body)) return;
    if (res.ok) {
      showProgress(body.progress);
      hidePair();
    } else if (res.status === 409 || res.status === 404) {
      $("pair-error").textContent = body.error || "";
      hidePair();              // someone else answered it, or it left the queue: move on
    } else {
      $("pair-error").textContent = body.error || `server answered ${res.status}`;
      setButtons(true);
    }
  } catch (err) {
    $("pair-error").textContent = "Could not reach the server; your answer was not saved. Try again.";
    setButtons(true);
  } finally {
    busy = false;
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function askAlias(error) {
  alias = null;
  hidePair();
  $("who").hidden = true;
  $("alias-form").hidden = false;
  $("alias-error").textContent = error || "";
  setState("alias", "Choose an alias to start labelling.");
  $("alias-input").focus();
}

function useAlias(a) {
  alias = a;
  $("alias-shown").textContent = a;
  $("who").hidden = false;
  $("alias-form").hidden = true;
  $("change-alias").hidden = !!fixedAlias;
  poll();
}

$("alias").addEventListener("submit", (e) => {
  e.preventDefault();
  const a = $("alias-input").value.trim();
  if (!ALIAS_RE.test(a) || a.includes("@")) { $("alias-error").textContent = "Use letters, digits, _ - . only (no spaces, no e-mail)."; return; }
  localStorage.setItem("irlkit-alias", a);
  useAlias(a);
});
$("change-alias").addEventListener("click", () => askAlias());
document.querySelectorAll(".buttons button").forEach((b) => b.addEventListener("click", () => answer(b.dataset.label)));
document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey || e.altKey) return;
  const label = KEYS[e.key];
  if (label && current) { e.preventDefault(); answer(label); }
});

(async function start() {
  try {
    const res = await api("/api/state");
    const p = await res.json();
    if (reloadForNewToken(p)) return;
    showProgress(p);
  } catch (err) { /* poll() reports connection problems */ }
  if (fixedAlias) useAlias(fixedAlias);
  else {
    const saved = localStorage.getItem("irlkit-alias");
    if (saved && ALIAS_RE.test(saved)) useAlias(saved); else askAlias();
  }
})();
