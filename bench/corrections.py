"""Benchmark: expert labels needed to reach the expert's score, HG-DAgger vs imitation's DAgger.

Every run is the real command line (`python -m irlkit algo=dagger ...`), one after another:
- `dagger`: imitation's SimpleDAggerTrainer with the SB3 expert (`expert=sb3`); the expert labels
  every state the rollouts visit, so labels = env steps.
- `hg`: HG-DAgger with the scripted person (`expert=human expert.input=scripted`) taking over in the
  corrections window (SDL dummy driver) wherever the learner's action differs from the expert's;
  labels = the steps it drove.
- `uncertain`: the same person, but the learner asks (ensemble disagreement > threshold) and the
  person drives only when asked.

Same env, seeds, budget (env steps), round size, BC settings and initial demos (none by default;
`--demo-episodes N` starts all three from N shipped expert episodes, not counted as labels).
After each round the learning curve (`curve.csv`, `eval.curve_episodes` episodes on fixed seeds)
gives the return; the labels spent by then come from `eval.json`. Reported per method: labels at
the first round whose normalized score reaches `--target` (default 0.95, the expert level), the
final normalized score (`eval.episodes` unseen episodes), and the share of steps asked.

    SDL_VIDEODRIVER=dummy python bench/corrections.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from _runs import run_irlkit  # bench/ is on sys.path when run as a script


def command(method: str, seed: int, run_dir: Path, store: Path, args: argparse.Namespace) -> list[str]:
    rounds = args.budget // args.round_steps
    cmd = [
        sys.executable,
        "-m",
        "irlkit",
        "algo=dagger",
        f"env={args.env}",
        "env.n_envs=1",
        f"seed={seed}",
        f"algo.budget={args.budget}",
        f"algo.round_steps={args.round_steps}",
        *(
            ["algo.use_demos=true", f"select.max_episodes={args.demo_episodes}"]
            if args.demo_episodes
            else ["algo.use_demos=false"]
        ),
        f"algo.bc_epochs_per_round={args.bc_epochs}",
        f"eval.curve_points={rounds}",
        f"eval.curve_episodes={args.curve_episodes}",
        f"eval.episodes={args.eval_episodes}",
        "progress=false",
        f"hydra.run.dir={run_dir}",
    ]
    if method == "dagger":
        return cmd + ["expert=sb3"]
    return cmd + [
        "expert=human",
        "expert.input=scripted",
        "operator=scripted-expert",
        f"expert.store_root={store}",
        f"expert.dataset=bench_{method}_{seed}",
        "expert.min_batches_per_round=0",
        f"expert.query={'always' if method == 'hg' else 'uncertain'}",
        f"expert.threshold={args.threshold}",
        f"expert.hand_back_after={args.hand_back_after}",
        f"expert.ensemble={args.ensemble}",
        f"expert.decline_cooldown_s={args.decline_cooldown}",
        *args.extra,
    ]


def labels_curve(method: str, run_dir: Path) -> list[dict[str, Any]]:
    """Per curve point: env steps, labels spent by then, normalized score."""
    result = json.loads((run_dir / "eval.json").read_text())
    lo, hi = result["random_return"], result["demo_return"]
    with open(run_dir / "curve.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    dagger_totals = _dagger_round_totals(run_dir) if method == "dagger" else []
    out = []
    for k, row in enumerate(rows):
        steps = int(row["env_steps"])
        if method == "dagger":
            # The SB3 expert labels every visited state. Steps are counted from the rollouts imitation
            # saved: irlkit's DAggerTrainer over-counts its first round by the initial demos' length
            # when algo.use_demos is on (its "before" count goes negative), which would inflate labels.
            steps = dagger_totals[k] if k < len(dagger_totals) else steps
            labels = answers = steps
        else:
            labels, answers, seen = 0, 0, 0
            for r in result["rounds"]:
                seen += r["steps"]
                if seen > steps:
                    break
                labels += r["labels"]
                answers += r["labels"] + r.get("approved", 0)
        out.append(
            {
                "env_steps": steps,
                "labels": labels,
                "answers": answers,
                "normalized": (float(row["return_mean"]) - lo) / (hi - lo),
            }
        )
    return out


def _dagger_round_totals(run_dir: Path) -> list[int]:
    """Env steps labelled by the expert after each DAgger round: the rollouts imitation saved per
    round (`dagger/demos/round-NNN/`), the initial demos (`initial_data-*`) left out."""
    from imitation.data import serialize

    totals, total = [], 0
    for round_dir in sorted((run_dir / "dagger" / "demos").glob("round-*")):
        for path in sorted(round_dir.iterdir()):
            if not path.name.startswith("initial_data"):
                total += sum(len(t) for t in serialize.load(path))
        totals.append(total)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="cartpole")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=["dagger", "hg", "uncertain"])
    parser.add_argument("--budget", type=int, default=5000)
    parser.add_argument("--round-steps", type=int, default=500)
    parser.add_argument("--bc-epochs", type=int, default=10)
    parser.add_argument("--threshold", type=float, default=0.05)
    parser.add_argument("--hand-back-after", type=int, default=3)
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--decline-cooldown", type=float, default=0.2, help="expert.decline_cooldown_s")
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides for the hg/uncertain runs")
    parser.add_argument(
        "--demo-episodes",
        type=int,
        default=0,
        help="start every method from this many of the env's shipped expert demos (not counted as labels)",
    )
    parser.add_argument("--curve-episodes", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--out", type=Path, default=None, help="folder for the runs (default: a temporary one)")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="irlkit-bench-corrections-"))
    table: dict[str, list[dict[str, Any]]] = {m: [] for m in args.methods}
    for seed in args.seeds:
        for method in args.methods:
            run_dir = out / f"{method}-seed{seed}"
            result, wall, _ = run_irlkit(
                command(method, seed, run_dir, out / "store", args), run_dir, what=f"{method} seed {seed}"
            )
            curve = labels_curve(method, run_dir)
            hit = next((p for p in curve if p["normalized"] >= args.target), None)
            reached: Optional[int] = hit["labels"] if hit else None
            row = {
                "seed": seed,
                "labels_to_target": reached,
                "answers_to_target": hit["answers"] if hit else None,
                "env_steps_to_target": hit["env_steps"] if hit else None,
                "final_normalized": result["normalized_score"],
                "labels_total": result.get("labels", result["env_steps"]),
                "asked_share": result.get("asked_share"),
                "wall_s": round(wall, 1),
                "curve": curve,
            }
            table[method].append(row)
            print(
                f"{method:9s} seed {seed}: labels to {args.target:g} = {reached} (answers {row['answers_to_target']}), final normalized "
                f"{row['final_normalized']:.3f}, labels {row['labels_total']}, asked share {row['asked_share']}, "
                f"{row['wall_s']} s",
                flush=True,
            )
    (out / "summary.json").write_text(
        json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "table": table}, indent=1)
    )
    print(f"\nruns and summary.json in {out}\n")
    print(
        "| method | labels to reach the expert's score (per seed) | mean | answers incl. approvals (per seed) "
        "| final normalized score (mean) | asked share |"
    )
    print("|---|---|---|---|---|---|")
    means: dict[str, Optional[float]] = {}
    for method, rows in table.items():
        reached = [r["labels_to_target"] for r in rows]
        ok = [x for x in reached if x is not None]
        means[method] = sum(ok) / len(ok) if len(ok) == len(reached) and ok else None
        final = sum(r["final_normalized"] for r in rows) / len(rows)
        asked = [r["asked_share"] for r in rows if r["asked_share"] is not None]
        answers = ", ".join(str(r["answers_to_target"]) for r in rows)
        mean = means[method] if means[method] is not None else "not all reached"
        share = f"{sum(asked) / len(asked):.3f}" if asked else "-"
        print(f"| {method} | {', '.join(str(x) for x in reached)} | {mean} | {answers} | {final:.3f} | {share} |")
    if means.get("dagger") and means.get("hg"):
        print(f"\nDAgger / HG-DAgger labels: {means['dagger'] / means['hg']:.2f}x")
    if means.get("hg") and means.get("uncertain"):
        print(f"HG-DAgger / uncertainty-triggered labels: {means['hg'] / means['uncertain']:.2f}x")


if __name__ == "__main__":
    main()
