#!/usr/bin/env bash
# Install irlkit into ./.venv (made if missing).
#   bash scripts/install.sh          the toolkit (and what the main job needs)
#   bash scripts/install.sh test     plus everything the test suite exercises: pytest, minari,
#                                    video, benchmark extras, and (as root, via apt) Xvfb and
#                                    Chromium for the recorder's X test and the browser tests
# torch is pinned to the CPU build that lies on this machine's disk; an unpinned torch would pull
# a multi-GB CUDA build. Any torch in pyproject's range works if you install it yourself first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if .venv/bin/python -c "import torch" 2>/dev/null; then TORCH=""; else TORCH="torch==2.13.0"; fi
if [ "${1:-}" = "test" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 && [ -f .ci/apt-packages.txt ]; then
    missing=$(for p in $(grep -v '^#' .ci/apt-packages.txt); do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
    if [ -n "$missing" ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
  fi
  .venv/bin/python -m pip install -q $TORCH -e ".[test,minari,video,bench]"
else
  .venv/bin/python -m pip install -q $TORCH -e .
fi
echo "irlkit installed in .venv ($(.venv/bin/python -c 'import irlkit; print(irlkit.__version__)'))"
