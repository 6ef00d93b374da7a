#!/bin/bash
# GAIL and AIRL on the classic suite with algo.demo_fraction=0.25 (demos in a quarter of every
# generator batch), seeds 0-2, two sweeps side by side (one per core), then the report.
# Made bench/classic_demo_fraction/ (2026-12-01 14:55-16:13 UTC, with 0.25 then the default; now pass it):
#   bash bench/classic_demo_fraction.sh OUT
set -e
cd "$(dirname "$0")/.."
OUT=${1:-bench_out/classic_demo_fraction}
PY=${PY:-.venv/bin/python}
common=(suite=classic "out=$OUT" seed=0,1,2 report=false 'overrides=["algo.demo_fraction=0.25"]')
$PY -m irlkit.bench "${common[@]}" cell=gail-pendulum,airl-mountain_car_continuous,airl-cartpole,gail-cartpole &
$PY -m irlkit.bench "${common[@]}" cell=airl-pendulum,gail-mountain_car,gail-mountain_car_continuous,airl-mountain_car &
wait
$PY -m irlkit.bench.report "$OUT" --out bench/classic_demo_fraction
