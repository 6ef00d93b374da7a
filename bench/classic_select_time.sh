#!/bin/bash
# Which selection distance keeps the best policy, on every candidate saved by the classic suite's
# GAIL cells (5 seeds) and AIRL/SQIL cells (the seeds time allowed)? Trains with selection on and
# every candidate saved, scores each candidate with the evaluator's own episodes
# (bench/selection_rules.py), then replays each on the selection's start seeds and scores it with
# each distance, at 3 episodes (the default) and, for GAIL, 5 and 10 (bench/selection_distances.py),
# and GAIL's IQM per distance (bench/selection_aggregate.py).
# Made the numbers in BENCHMARKS.md, "Selection that sees time" (2026-12-02). Run it all with:
#   bash bench/classic_select_time.sh OUT
set -e
cd "$(dirname "$0")/.."
OUT=${1:-bench_out/classic_select_time}
PY=${PY:-.venv/bin/python}
$PY -m irlkit.bench suite=classic "out=$OUT" report=false seed=0,1,2,3,4 \
    cell=gail-mountain_car,gail-mountain_car_continuous,gail-cartpole,gail-pendulum,airl-mountain_car,sqil-mountain_car \
    'overrides=["algo.select_policy.points=10","algo.select_policy.keep_candidates=true"]' \
    hydra/launcher=joblib hydra.launcher.n_jobs=2
$PY -m irlkit.bench suite=classic "out=$OUT" report=false seed=0,1,2 \
    cell=sqil-cartpole,airl-cartpole,airl-mountain_car_continuous \
    'overrides=["algo.select_policy.points=10","algo.select_policy.keep_candidates=true"]' \
    hydra/launcher=joblib hydra.launcher.n_jobs=2
$PY bench/selection_rules.py "$OUT"
mkdir -p bench/classic_select_time
$PY bench/selection_distances.py "$OUT" --episodes 3 --out bench/classic_select_time/distances-3.md
for episodes in 5 10; do  # GAIL's runs only
    $PY bench/selection_distances.py "$OUT" --only gail --episodes $episodes --out bench/classic_select_time/distances-$episodes-gail.md
done
for episodes in 3 5 10; do
    $PY bench/selection_aggregate.py "$OUT" --algo gail --episodes $episodes
done
