"""Score every candidate policy of runs trained with `algo.select_policy.keep_candidates=true`, and
what each selection rule would have kept.

Training does not depend on the selection (its episodes use their own envs and seeds), so one run
with its candidates saved answers for every rule: the score a rule gets is the score of the
candidate it picks, measured with the evaluator's own episodes and seeds. The rules compared use
only the demos-distance history in eval.json (never the env's reward):

- `last`: the policy at the end of the budget (selection off);
- `closest`: the smallest distance (what `algo.select_policy` does);
- `latest within X%`: the latest point whose distance is within X% of the smallest (ties go to the
  longer-trained policy).

    .venv/bin/python bench/selection_rules.py RUNS_DIR [--out bench/classic_select_policy/rules.md]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

Rule = Callable[[list[tuple[int, float]]], int]


def _latest_within(tol: float) -> Rule:
    def pick(history: list[tuple[int, float]]) -> int:
        best = min(d for _, d in history)
        return max(step for step, d in history if d <= best * (1.0 + tol))

    return pick


RULES: dict[str, Rule] = {
    "last": lambda h: max(step for step, _ in h),
    "closest": lambda h: min(h, key=lambda sd: sd[1])[0],
    "latest within 10%": _latest_within(0.10),
    "latest within 25%": _latest_within(0.25),
    "latest within 50%": _latest_within(0.50),
}


def score_candidates(run_dir: Path) -> Optional[dict[str, Any]]:
    """{step: normalized score} of a run's saved candidates (cached in selection/scores.json)."""
    from irlkit.evaluate import evaluate
    from irlkit.policies import load_policy
    from irlkit.train import read_config

    folder = run_dir / "selection"
    result_path = run_dir / "eval.json"
    if not folder.is_dir() or not result_path.is_file():
        return None
    cache = folder / "scores.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    result = json.loads(result_path.read_text())
    config = read_config(run_dir)
    scores = {}
    for cand in sorted(folder.glob("step-*"), key=lambda p: int(p.name.split("-")[1])):
        r = evaluate(
            config.env, load_policy(cand), demo_return=result["demo_return"], seed=config.seed, cfg=config.eval
        )
        scores[cand.name.split("-")[1]] = r["normalized_score"]
    out = {"scores": scores, "history": result["selection_history"], "cell": f"{config.algo.name}-{config.env.name}"}
    cache.write_text(json.dumps(out, indent=1) + "\n")
    return out


PerRun = tuple[str, str, float, dict[str, tuple[float, int]]]
"""(run folder name, cell, best candidate's score, {rule: (score of the kept candidate, its step)})."""


def rule_tables(per_run: list[PerRun], rules: list[str]) -> str:
    """Markdown: each rule's mean score per cell, over all runs, its runs below 0.7, then per run."""
    cells: dict[str, dict[str, list[float]]] = {}
    for _, cell, _, got in per_run:
        for name, (value, _) in got.items():
            cells.setdefault(cell, {}).setdefault(name, []).append(value)
    head = " | ".join(rules)
    lines = [f"| cell | runs | {head} |", "|---|---|" + "---|" * len(rules)]
    for cell, by_rule in sorted(cells.items()):
        n = len(by_rule[rules[0]])
        lines.append(f"| {cell} | {n} | " + " | ".join(f"{statistics.mean(by_rule[r]):.2f}" for r in rules) + " |")
    every = {r: [v for by_rule in cells.values() for v in by_rule[r]] for r in rules}
    lines.append(f"| all | {len(per_run)} | " + " | ".join(f"{statistics.mean(every[r]):.2f}" for r in rules) + " |")
    lines.append("| runs < 0.7 | | " + " | ".join(str(sum(v < 0.7 for v in every[r])) for r in rules) + " |")
    lines += ["", f"| run | best candidate | {head} |", "|---|---|" + "---|" * len(rules)]
    for name, _, best, got in per_run:
        lines.append(
            f"| {name} | {best:.2f} | " + " | ".join(f"{got[r][0]:.2f} ({got[r][1] // 1000}k)" for r in rules) + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, help="a benchmark output folder (one run folder per cell and seed)")
    parser.add_argument("--out", type=Path, default=None, help="write the table (markdown) here too")
    args = parser.parse_args()
    per_run: list[PerRun] = []
    for run_dir in sorted(p for p in args.runs.iterdir() if p.is_dir()):
        data = score_candidates(run_dir)
        if data is None:
            continue
        history = [(int(s), float(d)) for s, d in data["history"]]
        picks = {name: rule(history) for name, rule in RULES.items()}
        got = {name: (data["scores"][str(step)], step) for name, step in picks.items()}
        per_run.append((run_dir.name, data["cell"], max(data["scores"].values()), got))
    if not per_run:
        sys.exit(f"no run in {args.runs} has saved candidates (train with algo.select_policy.keep_candidates=true)")
    text = rule_tables(per_run, list(RULES))
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
