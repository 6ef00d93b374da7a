#!/bin/bash
# The classic suite with algo.select_policy.points=10: keep the policy whose own episodes' states are
# closest to the demos', measured at 10 evenly spaced points of the 50k-step budget. SQIL's default
# since 272ccd7 (no override needed); GAIL and AIRL with the option on and every candidate saved,
# then every candidate scored (bench/selection_rules.py). Training is bit-identical to the default
# run of the same seed, so each run differs from its default twin only in the policy it keeps.
# Made the numbers in BENCHMARKS.md, "Keeping the policy closest to the demos" (2026-12-01): SQIL
# seeds 0-4; GAIL/AIRL the runs that time allowed (the table there lists them), in the order below
# plus the seeds whose default run had failed. Run it all with:
#   bash bench/classic_select_policy.sh OUT
set -e
cd "$(dirname "$0")/.."
OUT=${1:-bench_out/classic_select_policy}
PY=${PY:-.venv/bin/python}
$PY -m irlkit.bench suite=classic "out=$OUT" report=false seed=0,1,2,3,4 \
    cell=sqil-cartpole,sqil-mountain_car,sqil-pendulum,sqil-mountain_car_continuous &
$PY -m irlkit.bench suite=classic "out=$OUT" report=false seed=0,1,2,3,4 \
    cell=airl-cartpole,gail-cartpole,airl-mountain_car,gail-mountain_car,airl-mountain_car_continuous,gail-mountain_car_continuous,airl-pendulum,gail-pendulum \
    'overrides=["algo.select_policy.points=10","algo.select_policy.keep_candidates=true"]' &
wait
$PY bench/selection_rules.py "$OUT" --out bench/classic_select_policy/rules.md
$PY -m irlkit.bench.report "$OUT" --out bench/classic_select_policy
