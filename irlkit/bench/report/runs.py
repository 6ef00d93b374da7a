"""Run folders as rows: which runs of a sweep finished, failed or were killed, and results.csv."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

RESULT_COLUMNS = [
    "algo",
    "env",
    "seed",
    "return_mean",
    "return_std",
    "normalized_score",
    "demo_return",
    "random_return",
    "episodes",
    "env_steps",
    "budget",
    "budget_unit",
    "wall_s",
    "run_dir",
    "reward_pearson",
    "transfer_score",
    "selection_env_steps",
]


@dataclasses.dataclass
class RunRecord:
    """One run folder, as one row of results.csv."""

    algo: str
    env: str
    seed: int
    return_mean: float
    return_std: float
    normalized_score: float
    """NaN when the demos and the random policy score the same (no scale to normalize by)."""
    demo_return: float
    random_return: float
    env_steps: int
    budget: int
    budget_unit: str
    wall_s: float
    run_dir: str
    episodes: int = 0
    """Evaluation episodes behind return_mean."""
    reward_pearson: float = float("nan")
    """Pearson r of the learned reward with the true one (algorithms that learn a reward)."""
    transfer_score: float = float("nan")
    """Normalized score of a fresh learner trained on the run's frozen reward
    (`python -m irlkit.transfer`, `transfer/transfer.json`); NaN when not measured."""
    selection_env_steps: int = 0
    """Env steps of `algo.select_policy`'s episodes, outside the budget (0 when it was off)."""

    @property
    def cell(self) -> str:
        return f"{self.algo}-{self.env}"


@dataclasses.dataclass
class RunStatus:
    """What a report found in the sweep folder besides finished runs."""

    failed: list[str] = dataclasses.field(default_factory=list)
    """Run folders holding error.txt (the training raised)."""
    unfinished: list[str] = dataclasses.field(default_factory=list)
    """Run folders without eval.json (killed or still running)."""
    missing: list[str] = dataclasses.field(default_factory=list)
    """Expected (cell, seed) with no folder at all."""


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def read_run(run_dir: Path) -> Optional[RunRecord]:
    """The run's record, or None if it has not finished (no eval.json: killed or running)."""
    path = run_dir / "eval.json"
    if not path.is_file():
        return None
    r = json.loads(path.read_text())
    transfer = run_dir / "transfer" / "transfer.json"
    transfer_score = json.loads(transfer.read_text()).get("normalized_score") if transfer.is_file() else None
    return RunRecord(
        algo=r["algo"],
        env=r["env"],
        seed=int(r["seed"]),
        return_mean=_num(r.get("return_mean")),
        return_std=_num(r.get("return_std")),
        normalized_score=_num(r.get("normalized_score")),
        demo_return=_num(r.get("demo_return")),
        random_return=_num(r.get("random_return")),
        env_steps=int(r.get("env_steps") or 0),
        budget=int(r.get("budget") or 0),
        budget_unit=str(r.get("budget_unit", "")),
        wall_s=_num(r.get("wall_s")),
        run_dir=str(run_dir),
        episodes=int(r.get("episodes") or 0),
        reward_pearson=_num(r.get("reward_pearson")),
        transfer_score=_num(transfer_score),
        selection_env_steps=int(r.get("selection_env_steps") or 0),
    )


def collect_runs(
    sweep_dir: Path, *, cells: Optional[Sequence[str]] = None, seeds: Optional[Sequence[int]] = None
) -> tuple[list[RunRecord], RunStatus]:
    """Every finished run under `sweep_dir` (optionally only the given cells and seeds).

    With `cells` and `seeds` the expected folders are `<cell>-seed<N>` (the bench's layout) and
    absent ones are reported missing; without them every run folder under `sweep_dir` counts: a
    finished one (eval.json), a failed one (error.txt) or a killed one (neither), so a rebuilt
    report lists killed runs as unfinished instead of leaving them out."""
    sweep_dir = Path(sweep_dir)
    status = RunStatus()
    records: list[RunRecord] = []
    if cells is not None and seeds is not None:
        folders = [sweep_dir / f"{c}-seed{s}" for c in cells for s in seeds]
    else:
        # `python -m irlkit` writes config.yaml first; Hydra's .hydra/ is there even earlier (a job
        # killed while composing its config has only that)
        found = {p.parent for name in ("eval.json", "error.txt", "config.yaml") for p in sweep_dir.rglob(name)}
        found |= {p.parent for p in sweep_dir.rglob(".hydra") if p.is_dir()}
        folders = sorted(f for f in found if ".hydra" not in f.relative_to(sweep_dir).parts)  # Hydra's, not a run
    for folder in folders:
        if not folder.is_dir():
            status.missing.append(folder.name)
            continue
        rec = read_run(folder)
        if rec is not None:
            records.append(rec)
        elif (folder / "error.txt").is_file():
            status.failed.append(str(folder))
        else:
            status.unfinished.append(str(folder))
    records.sort(key=lambda r: (r.algo, r.env, r.seed))
    return records, status


def write_results_csv(records: Iterable[RunRecord], path: Path) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(RESULT_COLUMNS)
        for r in records:
            row = dataclasses.asdict(r)
            writer.writerow([row[c] for c in RESULT_COLUMNS])
    return path
