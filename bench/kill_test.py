"""Kill store writers at random points; then check that nothing committed is lost and every dataset reads.

    python bench/kill_test.py                                  # every victim: 50 kills per signal and mode
    python bench/kill_test.py --what compact --kills 10        # one victim, fewer kills
    python bench/kill_test.py --list                           # the victims

A *victim* is a writer run in a child process. The child prints `ready` once its imports are done,
then a witness line each time the store has acknowledged something (an episode committed, a
journal step appended); only complete lines count, so what the child was told is durable is
exactly what it printed. Each round kills one child, in one of two ways (`--at`):

- `time`: the harness sends the signal a random time after `ready` (uniform over how long the
  work takes, measured on unkilled runs for work that ends, such as a compaction);
- `op`: the child sends the signal to itself just before its k-th filesystem-changing call
  (rename, link, unlink, rmdir, mkdir, fsync, write), k uniform over the calls its work makes.
  Narrow windows (a folder half-deleted, a commit done but its journal not yet removed) are hit
  this way as often as wide ones.

Then the victim checks the aftermath: the dataset opens with every checksum verified and
`validate()`s, and every witnessed commit is there exactly once. A child that ended before its
signal is not counted as a kill; rounds go on until `--kills` signals landed. SIGTERM is sent as
well as SIGKILL: the store installs no handler, so SIGTERM must be exactly as safe.

Victims: `append` and `journal` (store writers), `compact`, and `train` (`python -m irlkit`, killed,
then `python -m irlkit resume=<run folder>` must finish it to its full budget).

Adding a victim (the recorder, a corrections session, ...): subclass `Victim`, give it a
`name` and `about`, decorate it with `@victim`, and define

- `setup()`: build what the child writes to, under `self.work` (once);
- `before_round()`: prepare one round (optional);
- `child()`: the child's Python source and arguments; the source must print `ready` and then
  call `start_counting()` (defined in `PRELUDE`, which is prepended) where the work begins;
- `check(lines)`: after the child is gone, a `Counter` of problems by kind (empty when sound),
  given the complete lines it printed;
- optionally `max_delay_s()` / `max_ops()` (how far into the work kills may land),
  `while_running()` (called repeatedly while the child runs, e.g. a concurrent reader; returns a
  problem or None) and `finish()` (a last check after all rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM}
MODES = ("time", "op")

PRELUDE = '''
import atexit, os
_AT, _SIG, _N = int(os.environ.get("KILL_AT_OP", "-1")), int(os.environ.get("KILL_SIGNAL", "9")), [0]

def _counted(real):
    def op(*args, **kwargs):
        if _N[0] == _AT:
            os.kill(os.getpid(), _SIG)  # no handler for either signal: the process ends right here
        _N[0] += 1
        return real(*args, **kwargs)
    return op

def start_counting():
    """From here on, every filesystem-changing os call is a point the child may be killed at."""
    for name in ("rename", "replace", "link", "unlink", "remove", "rmdir", "mkdir", "fsync", "write"):
        setattr(os, name, _counted(getattr(os, name)))
    if os.environ.get("KILL_COUNT_OPS"):
        atexit.register(lambda: print(f"ops {_N[0]}", flush=True))
'''


class Victim:
    """A writer to kill, and how to tell whether its kill lost or damaged anything (module docstring)."""

    name = ""
    about = ""

    def __init__(self, work: Path, rng: np.random.Generator):
        self.work = work
        self.rng = rng
        self.figures: Counter = Counter()
        """Running totals worth reporting that are not problems (commits acknowledged, kills mid-removal, ...)."""
        self.first: list[str] = []
        """The text of problems found, for the report (the first one is shown)."""

    def setup(self) -> None:
        pass

    def before_round(self) -> None:
        pass

    def child(self) -> tuple[str, list[str]]:
        raise NotImplementedError

    def max_delay_s(self) -> float:
        return 0.5

    def max_ops(self) -> int:
        return 400

    def while_running(self) -> Optional[str]:
        return None

    def finished(self, seconds: float, lines: list[str]) -> None:
        """A child ended on its own, `seconds` after `ready`, having printed `lines`."""

    def check(self, lines: list[str]) -> Counter:
        raise NotImplementedError

    def finish(self) -> Counter:
        return Counter()

    def killed_by(self, code: int, sig: int) -> bool:
        """Whether exit status `code` means the signal ended the child (commands that handle SIGTERM
        exit with 128 + its number instead of dying by it)."""
        return code == -sig


VICTIMS: dict[str, type[Victim]] = {}


def victim(cls: type[Victim]) -> type[Victim]:
    """Register a victim under its name (the `--what` choice)."""
    VICTIMS[cls.name] = cls
    return cls


# ------------------------------------------------------------------------------------------------
# the store's writers
# ------------------------------------------------------------------------------------------------
def _new_dataset(path: Path) -> Any:
    from gymnasium import spaces

    from irlkit.store import Dataset

    return Dataset.create(
        path,
        env_id="kill-test-v0",
        observation_space=spaces.Box(-1.0, 1.0, (4,), np.float32),
        action_space=spaces.Discrete(2),
    )


def _readable(path: Path, problems: Counter, first: list[str]) -> Any:
    """The dataset reopened with every checksum verified and validated, or None (counted unreadable)."""
    from irlkit.errors import StoreError
    from irlkit.store import Dataset

    try:
        ds = Dataset.open(path, verify=True)
        found = [p for p in ds.validate() if "is empty" not in p]
    except StoreError as err:
        found = [str(err)]
    if found:
        problems["unreadable"] += 1
        first.append(found[0])
        return None
    return ds


APPENDER = """
    import sys, numpy as np
    from irlkit.store import Dataset, Episode, EpisodeMeta
    ds = Dataset.open(sys.argv[1]); tag = sys.argv[2]; rng = np.random.default_rng(int(sys.argv[3]))
    print("ready", flush=True); start_counting()
    k = 0
    while True:
        t = int(rng.integers(5, 60))
        obs = rng.uniform(-1, 1, size=(t + 1, 4)).astype(np.float32)
        ds.append_episode(Episode(obs=obs, acts=rng.integers(0, 2, size=t), rews=np.ones(t), truncated=True,
                                  meta=EpisodeMeta(source="script", notes=f"{tag}-{k}")))
        print(f"committed {tag}-{k}", flush=True)
        k += 1
"""


@victim
class Appender(Victim):
    name = "append"
    about = "Dataset.append_episode in a loop, one segment per episode (as the recorder commits)"

    def setup(self) -> None:
        self.path = self.work / "append"
        _new_dataset(self.path)
        self.round = 0
        self.committed: list[str] = []

    def before_round(self) -> None:
        self.round += 1

    def child(self) -> tuple[str, list[str]]:
        return APPENDER, [str(self.path), f"r{self.round}", str(self.round)]

    def check(self, lines: list[str]) -> Counter:
        problems: Counter = Counter()
        self.committed += [line.split()[1] for line in lines if line.startswith("committed ")]
        self.figures["commits acknowledged"] = len(self.committed)
        ds = _readable(self.path, problems, self.first)
        if ds is not None:
            notes = Counter(m.notes for m in ds.metas)
            problems["committed episodes lost"] += sum(1 for c in self.committed if notes[c] == 0)
            problems["episodes stored twice"] += sum(1 for n in notes.values() if n > 1)
        return problems


JOURNALER = """
    import sys, numpy as np
    from irlkit.store import Dataset, Episode, EpisodeMeta
    ds = Dataset.open(sys.argv[1]); tag = sys.argv[2]; rng = np.random.default_rng(int(sys.argv[3]))
    print("ready", flush=True); start_counting()
    k = 0
    while True:
        name, steps = f"{tag}-{k}", int(rng.integers(3, 30))
        meta = EpisodeMeta(source="correction", operator="op-kill", notes=name)
        obs = [rng.uniform(-1, 1, size=4).astype(np.float32)]
        acts, infos = [], []
        journal = ds.start_episode(obs[0], meta)
        for t in range(steps):
            acts.append(int(rng.integers(0, 2))); obs.append(rng.uniform(-1, 1, size=4).astype(np.float32))
            infos.append({"t": t})
            journal.append(acts[-1], 1.0, obs[-1], infos[-1])
            print(f"step {name} {t}", flush=True)
        journal.commit(Episode(obs=np.stack(obs), acts=np.array(acts), rews=np.ones(steps), truncated=True,
                               infos=infos, meta=meta))
        print(f"committed {name} {steps}", flush=True)
        k += 1
"""


@victim
class Journaler(Victim):
    name = "journal"
    about = "episodes logged step by step (Dataset.start_episode / append / commit, as corrections are), then recover()"

    def setup(self) -> None:
        self.path = self.work / "journal"
        _new_dataset(self.path)
        self.round = 0
        self.steps: dict[str, int] = {}  # episode -> steps witnessed
        self.committed: dict[str, int] = {}  # episode -> its length

    def before_round(self) -> None:
        self.round += 1

    def child(self) -> tuple[str, list[str]]:
        return JOURNALER, [str(self.path), f"r{self.round}", str(self.round)]

    def max_ops(self) -> int:
        return 800  # four writes per step

    def check(self, lines: list[str]) -> Counter:
        from irlkit.errors import StoreError
        from irlkit.store import Dataset

        problems: Counter = Counter()
        for line in lines:
            parts = line.split()
            if parts[0] == "step":
                self.steps[parts[1]] = max(self.steps.get(parts[1], 0), int(parts[2]) + 1)
            elif parts[0] == "committed":
                self.committed[parts[1]] = int(parts[2])
        self.figures["steps acknowledged"] = sum(self.steps.values())
        self.figures["episodes committed"] = len(self.committed)
        try:
            ds = Dataset.open(self.path)
            stored = set(ds.episode_ids(include_discarded=True))
            for j in ds.journals():
                if j.error is not None:
                    problems["unreadable journals"] += 1
                    self.first.append(j.error)
                elif not j.live and j.episode_id in stored:
                    problems["committed episodes reported unfinished"] += 1
            self.figures["episodes recovered"] += len(ds.recover())
        except StoreError as err:
            problems["unreadable"] += 1
            self.first.append(str(err))
            return problems
        ds = _readable(self.path, problems, self.first)
        if ds is None:
            return problems
        from irlkit.store.journal import JOURNAL_DIR

        journals = ds.path / JOURNAL_DIR  # made with the first journal: a kill before it leaves none
        if journals.is_dir() and any(journals.iterdir()):
            problems["journals left after recover"] += 1
        eps = ds.select(include_discarded=True).metas
        by_name = Counter(m.notes for m in eps)
        lengths = {m.notes: m.length for m in eps}
        problems["episodes stored twice"] += sum(1 for n in by_name.values() if n > 1)
        problems["committed episodes lost"] += sum(1 for e, n in self.committed.items() if lengths.get(e) != n)
        problems["acknowledged steps lost"] += sum(max(0, n - lengths.get(e, 0)) for e, n in self.steps.items())
        return problems


COMPACTOR = """
    import sys
    from irlkit.store import Dataset
    ds = Dataset.open(sys.argv[1])
    print("ready", flush=True); start_counting()
    print(f"done {ds.compact()}", flush=True)
"""


@victim
class Compactor(Victim):
    name = "compact"
    about = (
        "Dataset.compact of 40 one-episode segments while this process re-reads the dataset; then an "
        "unkilled compaction must clear what the killed one left"
    )

    SEGMENTS = 40

    def setup(self) -> None:
        from irlkit.store import Episode, EpisodeMeta

        self.template = self.work / "compact_template"
        ds = _new_dataset(self.template)
        for k in range(self.SEGMENTS):
            t = int(self.rng.integers(5, 40))
            obs = self.rng.uniform(-1, 1, size=(t + 1, 4)).astype(np.float32)
            ds.append_episode(
                Episode(
                    obs=obs,
                    acts=self.rng.integers(0, 2, size=t),
                    rews=np.full(t, float(k)),
                    truncated=True,
                    meta=EpisodeMeta(source="script", notes=f"seg-{k}"),
                )
            )
        self.expected = sorted(m.episode_id for m in ds.metas)
        self.path = self.work / "compact"
        self.durations: list[float] = []
        self.ops: list[int] = []
        # Unkilled runs say how long a compaction takes here and how many file operations it makes,
        # so kills can be spread over all of it.
        for _ in range(3):
            self.before_round()
            seconds, lines = _unkilled(self, {"KILL_COUNT_OPS": "1"})
            self.finished(seconds, lines)

    def before_round(self) -> None:
        from irlkit.store import Dataset

        shutil.rmtree(self.path, ignore_errors=True)
        shutil.copytree(self.template, self.path)
        self.reader = Dataset.open(self.path)

    def child(self) -> tuple[str, list[str]]:
        return COMPACTOR, [str(self.path)]

    def max_delay_s(self) -> float:
        return 1.05 * float(np.median(self.durations[-9:]))  # a few land after the end: those are not kills

    def max_ops(self) -> int:
        return int(np.median(self.ops))

    def finished(self, seconds: float, lines: list[str]) -> None:
        self.durations.append(seconds)
        self.ops += [int(line.split()[1]) for line in lines if line.startswith("ops ")]

    def while_running(self) -> Optional[str]:
        from irlkit.errors import StoreError

        try:
            self.reader.refresh()
            got = sorted(m.episode_id for m in self.reader.metas)
        except StoreError as err:
            return f"a reader failed while compaction ran: {err}"
        if got != self.expected:
            return (
                f"a reader saw {len(got)} episodes ({len(set(got))} distinct) while compaction ran, "
                f"not {len(self.expected)}"
            )
        return None

    def check(self, lines: list[str]) -> Counter:
        from irlkit.errors import StoreError
        from irlkit.store import Dataset

        problems: Counter = Counter()
        seg_dir, tmp = self.path / "segments", self.path / ".tmp"
        headers = [p / "segment.json" for p in seg_dir.iterdir()]
        merged = any(h.exists() and "replaces" in json.loads(h.read_text()) for h in headers)
        if merged and len(headers) > 1:
            self.figures["kills after the merged segment was committed"] += 1
        if any(tmp.glob("trash-*")):
            self.figures["kills mid-deletion (a trash folder left)"] += 1
        for attempt in ("after the kill", "after a second compaction"):
            ds = _readable(self.path, problems, self.first)
            if ds is None:
                return problems
            ids = [m.episode_id for m in ds.metas]
            problems["committed episodes lost"] += len(set(self.expected) - set(ids))
            problems["episodes stored twice"] += len(ids) - len(set(ids))
            if attempt == "after the kill":
                try:
                    Dataset.open(self.path).compact()
                except StoreError as err:
                    problems["compaction after a kill failed"] += 1
                    self.first.append(str(err))
                    return problems
        if len(list(seg_dir.iterdir())) != 1 or any(tmp.glob("trash-*")):
            problems["leftovers a later compaction did not clear"] += 1
        return problems


# ------------------------------------------------------------------------------------------------
# training: `python -m irlkit`, then `python -m irlkit resume=<run folder>`
# ------------------------------------------------------------------------------------------------
TRAINER = """
    import runpy, sys
    import irlkit.train, irlkit.algos.base, irlkit.cli.app  # the heavy imports, before `ready`
    import imitation.algorithms.bc, stable_baselines3, torch
    sys.argv = ["python -m irlkit", *sys.argv[1:]]
    print("ready", flush=True); start_counting()
    runpy.run_module("irlkit", run_name="__main__")
"""

TRAINING_RUNS = {
    "bc": ["algo=bc", "algo.budget=3000"],
    "dagger": [
        "algo=dagger",
        "algo.budget=1600",
        "algo.round_steps=400",
        "algo.bc_epochs_per_round=1",
        "algo.use_demos=false",
    ],
    "ppo": ["algo=ppo", "algo.budget=8192", "algo.ppo.n_steps=256", "env.n_envs=4"],
    "mce_irl": ["algo=mce_irl", "env=cliff_world", "algo.budget=300"],
    "gail": ["algo=gail", "algo.budget=3000", "algo.dqn.learning_starts=500"],
    "sqil": ["algo=sqil", "env=pendulum", "algo.budget=1500", "algo.sac.learning_starts=300", "algo.sac.net_arch=[32]"],
}
"""One run per algorithm the rounds cycle through: whole budgets of a few seconds each."""


@victim
class Trainer(Victim):
    name = "train"
    about = (
        "python -m irlkit (BC, DAgger, PPO, MCE IRL, off-policy GAIL, SQIL in turn; a checkpoint after every "
        "round), then "
        "python -m irlkit resume=<run folder> must finish it to its budget"
    )

    def setup(self) -> None:
        self.round = 0
        self.algos = list(TRAINING_RUNS)
        self.durations: dict[str, list[float]] = {a: [] for a in self.algos}
        self.ops: dict[str, list[int]] = {a: [] for a in self.algos}
        for _ in self.algos:  # one unkilled run each: how long it takes, how many file operations
            self.before_round()
            seconds, lines = _unkilled(self, {"KILL_COUNT_OPS": "1"})
            self.finished(seconds, lines)

    @property
    def algo(self) -> str:
        return self.algos[self.round % len(self.algos)]

    def before_round(self) -> None:
        self.round += 1
        self.run_dir = self.work / f"run{self.round}"

    def child(self) -> tuple[str, list[str]]:
        args = [
            *TRAINING_RUNS[self.algo],
            "checkpoint_s=0",
            "eval.episodes=2",
            "eval.curve_points=2",
            "progress=false",
            f"hydra.run.dir={self.run_dir}",
        ]
        return TRAINER, args

    def max_delay_s(self) -> float:
        return float(np.median(self.durations[self.algo]))

    def max_ops(self) -> int:
        return int(np.median(self.ops[self.algo]))

    def finished(self, seconds: float, lines: list[str]) -> None:
        self.durations[self.algo].append(seconds)
        self.ops[self.algo] += [int(line.split()[1]) for line in lines if line.startswith("ops ")]

    def killed_by(self, code: int, sig: int) -> bool:
        return code in (-sig, 128 + sig)

    def check(self, lines: list[str]) -> Counter:
        from irlkit.algos.checkpoint import read_checkpoint
        from irlkit.errors import IrlkitError

        problems: Counter = Counter()
        try:
            ckpt = read_checkpoint(self.run_dir)
        except IrlkitError as err:
            problems["unreadable"] += 1
            self.first.append(str(err))
            return problems
        self.figures["kills after a checkpoint" if ckpt is not None else "kills before the first checkpoint"] += 1
        if (self.run_dir / "eval.json").exists():
            self.figures["kills after eval.json"] += 1
            return problems
        if not (self.run_dir / "config.yaml").exists():
            self.figures["kills before config.yaml (nothing to resume: a new run)"] += 1
            return problems
        out = subprocess.run(
            [sys.executable, "-m", "irlkit", f"resume={self.run_dir}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if out.returncode != 0:
            problems["resume failed"] += 1
            self.first.append(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
            return problems
        result = json.loads((self.run_dir / "eval.json").read_text())
        if result["budget_spent"] < result["budget"]:
            problems["resumed short of the budget"] += 1
            self.first.append(f"{self.algo}: {result['budget_spent']} of {result['budget']}")
        self.figures["resumed to the full budget"] += 1
        shutil.rmtree(self.run_dir, ignore_errors=True)
        return problems


# ------------------------------------------------------------------------------------------------
# the harness
# ------------------------------------------------------------------------------------------------
class _Child:
    """A running victim child whose complete stdout lines are collected by a thread."""

    def __init__(self, v: Victim, env: dict[str, str]):
        code, args = v.child()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PRELUDE + textwrap.dedent(code), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
        )
        self.raw: list[bytes] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            if line == b"ready\n":
                self.ready.set()

    def wait_ready(self, timeout_s: float) -> float:
        if not self.ready.wait(timeout_s):
            self.proc.kill()
            raise RuntimeError(f"the child never got ready: {self.stderr()[-2000:]}")
        return time.perf_counter()

    def stderr(self) -> str:
        return self.proc.stderr.read().decode() if self.proc.stderr else ""

    def lines(self) -> list[str]:
        self.thread.join(timeout=10)
        done = [b.decode().rstrip("\n") for b in self.raw if b.endswith(b"\n")]  # a cut-off line does not count
        return [line for line in done if line != "ready"]


def _unkilled(v: Victim, env: dict[str, str], timeout_s: float = 300.0) -> tuple[float, list[str]]:
    child = _Child(v, env)
    t0 = child.wait_ready(timeout_s)
    if child.proc.wait(timeout=timeout_s) != 0:
        raise RuntimeError(f"{v.name}: an unkilled run failed: {child.stderr()[-2000:]}")
    return time.perf_counter() - t0, child.lines()


def _run_once(
    v: Victim, sig: int, mode: str, rng: np.random.Generator, timeout_s: float = 120.0
) -> tuple[bool, list[str], list[str]]:
    """Run one child and signal it at a random point; returns (killed, its complete lines, reader problems)."""
    env = {"KILL_SIGNAL": str(int(sig))}
    if mode == "op":
        env["KILL_AT_OP"] = str(int(rng.integers(0, max(1, v.max_ops()))))
    child = _Child(v, env)
    ready_at = child.wait_ready(timeout_s)
    deadline = ready_at + float(rng.uniform(0.0, v.max_delay_s())) if mode == "time" else ready_at + timeout_s
    reader_problems = []
    while time.perf_counter() < deadline and child.proc.poll() is None:
        problem = v.while_running()
        if problem is not None:
            reader_problems.append(problem)
        time.sleep(0.002)
    if mode == "time" and child.proc.poll() is None:
        child.proc.send_signal(sig)
    code = child.proc.wait(timeout=timeout_s)
    lines = child.lines()
    if v.killed_by(code, sig):
        return True, lines, reader_problems
    if code != 0:
        raise RuntimeError(f"{v.name}: the child exited {code}, not by the signal: {child.stderr()[-2000:]}")
    v.finished(time.perf_counter() - ready_at, lines)
    return False, lines, reader_problems


def run_victim(
    name: str,
    signals: list[str],
    modes: list[str],
    kills: int,
    rng: np.random.Generator,
    work: Path,
    log: Callable[[str], None],
) -> list[dict]:
    v = VICTIMS[name](work / name, rng)
    v.work.mkdir(parents=True)
    v.setup()
    rows = []
    for mode in modes:
        for sig_name in signals:
            landed = ended = 0
            problems: Counter = Counter()
            before, v.first = Counter(v.figures), []  # figures are running totals: a row reports its own share
            t0 = time.perf_counter()
            while landed < kills and landed + ended < 4 * kills:
                v.before_round()
                killed, lines, reader_problems = _run_once(v, SIGNALS[sig_name], mode, rng)
                landed += killed
                ended += not killed
                problems.update(v.check(lines))
                problems["reader errors while it ran"] += len(reader_problems)
                v.first += reader_problems[:1]
            problems.update(v.finish())
            row = {
                "victim": name,
                "at": mode,
                "signal": f"SIG{sig_name}",
                "kills": landed,
                "ended_first": ended,
                "unreadable": problems["unreadable"],
                "lost": problems["committed episodes lost"] + problems["acknowledged steps lost"],
                "problems": {k: n for k, n in problems.items() if n},
                "figures": dict(v.figures - before),
                "first_problem": v.first[0] if v.first else None,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            rows.append(row)
            log(json.dumps(row))
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", nargs="+", choices=sorted(VICTIMS), default=None, help="victims (default: all)")
    parser.add_argument("--kills", type=int, default=50, help="signals that must land per victim, mode and signal")
    parser.add_argument("--signals", nargs="+", choices=sorted(SIGNALS), default=["KILL", "TERM"])
    parser.add_argument(
        "--at",
        nargs="+",
        choices=MODES,
        default=list(MODES),
        dest="modes",
        help="kill at a random time, at a random file operation, or both (default)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="where datasets go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--list", action="store_true", help="list the victims and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, cls in sorted(VICTIMS.items()):
            print(f"{name:10} {cls.about}")
        return 0
    rng = np.random.default_rng(args.seed)
    tmp = tempfile.TemporaryDirectory(prefix="irlkit-kill-") if args.workdir is None else None
    work = Path(tmp.name) if tmp else args.workdir
    rows = []
    try:
        for name in args.what or sorted(VICTIMS):
            rows += run_victim(
                name, args.signals, args.modes, args.kills, rng, work, log=lambda s: print(s, flush=True)
            )
    finally:
        if tmp:
            tmp.cleanup()
    print()
    print(
        f"{'victim':8} {'at':4} {'signal':8} {'kills':>5} {'ended first':>11} {'unreadable':>10} {'lost':>5}  problems"
    )
    for r in rows:
        print(
            f"{r['victim']:8} {r['at']:4} {r['signal']:8} {r['kills']:>5} {r['ended_first']:>11} "
            f"{r['unreadable']:>10} {r['lost']:>5}  {r['problems'] or 'none'}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    failed = [r for r in rows if r["problems"] or r["kills"] < args.kills]
    for r in failed:
        print(
            f"FAIL {r['victim']} at {r['at']} {r['signal']}: {r['problems'] or 'too few kills landed'}; "
            f"first: {r['first_problem']}",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
