#!/usr/bin/env bash
# Install irlkit into a virtualenv (made if missing).
#   bash scripts/install.sh                  the toolkit (and what the main job needs), current stack
#   bash scripts/install.sh test             plus everything the test suite exercises: pytest, ruff,
#                                            mypy, minari, video, benchmark, mujoco extras, and (as root, via
#                                            apt) Xvfb and Chromium for the recorder's X test and the
#                                            browser tests
#   --stack current (default)                gymnasium 1.x + stable-baselines3 >= 2.7; imitation 1.0.1
#                                            installed with --no-deps, since its pins are stale
#   --stack pinned                           imitation 1.0.1's own pins (gymnasium 0.29.1, SB3 2.2.1):
#                                            what a plain `pip install .` gives
#   --venv DIR                               the virtualenv to use (default .venv)
# torch is pinned to the CPU build that lies on this machine's disk; an unpinned torch would pull
# a multi-GB CUDA build. Any torch in pyproject's range works if you install it yourself first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TEST=""; STACK=current; VENV=.venv
while [ $# -gt 0 ]; do
  case "$1" in
    test) TEST=1 ;;
    --stack) STACK=${2:?--stack needs current or pinned}; shift ;;
    --stack=*) STACK=${1#--stack=} ;;
    --venv) VENV=${2:?--venv needs a folder}; shift ;;
    --venv=*) VENV=${1#--venv=} ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see bash scripts/install.sh --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$STACK" in current|pinned) ;; *) echo "install.sh: --stack $STACK: choose current or pinned" >&2; exit 2 ;; esac

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q)
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if "$VENV/bin/python" -c "import torch" 2>/dev/null; then TORCH=(); else TORCH=("torch==2.13.0"); fi
EXTRAS=""
if [ -n "$TEST" ]; then
  EXTRAS="test,minari,video,bench,mujoco"
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 && [ -f .ci/apt-packages.txt ]; then
    missing=$(for p in $(grep -v '^#' .ci/apt-packages.txt); do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
    if [ -n "$missing" ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
  fi
fi

if [ "$STACK" = pinned ]; then
  "${PIP[@]}" "${TORCH[@]}" -e ".${EXTRAS:+[$EXTRAS]}"
else
  req=$(mktemp)
  trap 'rm -f "$req"' EXIT
  "$VENV/bin/python" scripts/stack_requirements.py current "$EXTRAS" > "$req"
  "${PIP[@]}" "${TORCH[@]}" -r "$req"
  "${PIP[@]}" --no-deps "imitation==1.0.1"
  "${PIP[@]}" --no-deps -e .
fi
"$VENV/bin/python" - <<'PY'
import gymnasium, stable_baselines3, irlkit
import sys; print(f"irlkit {irlkit.__version__} installed in {sys.prefix}: gymnasium {gymnasium.__version__}, stable-baselines3 {stable_baselines3.__version__}")
PY
