#!/usr/bin/env bash
# The README's first command on a fresh clone, timed: install (the current stack) + the main job (AIRL).
#   bash bench/fresh_install.sh [REPO (default: this checkout)] [CLONE (default: /tmp/fresh)]
# Clones the committed HEAD of REPO, so commit first. Prints the stack, the score and the wall times.
set -euo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
clone=${2:-/tmp/fresh}
rm -rf "$clone" && git clone -q "$repo" "$clone" && cd "$clone"
git log --oneline -1
t0=$(date +%s.%N)
bash scripts/install.sh > "$clone/install.log" 2>&1
t1=$(date +%s.%N)
SDL_VIDEODRIVER=dummy .venv/bin/python -m irlkit algo=airl > "$clone/airl.log" 2>&1
t2=$(date +%s.%N)
grep -h "installed in" "$clone/install.log"
grep -h "normalized" "$clone/airl.log" | head -1
python3 -c "print(f'install {$t1-$t0:.0f} s, algo=airl {$t2-$t1:.0f} s, total {$t2-$t0:.0f} s (wall)')"
uptime
