#!/usr/bin/env bash
# Set up everything studytool needs in ./.venv. Safe to run again: it only does what is missing.
#
#   PYTHON      interpreter for the venv (default: /usr/bin/python3 when present — a system
#               Python that the grader's unprivileged sandbox user can execute — else python3)
#   TORCH_SPEC  the torch requirement installed first (default torch==2.13.0: on the studytool
#               build machines a local CPU wheel; elsewhere the normal PyPI wheel). Set it to
#               e.g. "torch" or "torch --index-url https://download.pytorch.org/whl/cpu" to choose.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import sys, venv; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    PYTHON=/usr/bin/python3
  else
    PYTHON=python3
  fi
fi
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

# bubblewrap isolates the grader's sandbox; without it the grader falls back to rlimits.
if ! command -v bwrap >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing bubblewrap (sandbox for the grader)"
    (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) ||
      echo "setup: could not install bubblewrap; the grader will use its rlimit fallback" >&2
  else
    echo "setup: bubblewrap (bwrap) not found; install it for full isolation (the grader falls back to rlimits)" >&2
  fi
fi

stamp="$VENV/.studytool-installed"
if [[ -f "$stamp" && "$stamp" -nt pyproject.toml ]]; then
  exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup: creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel
# torch first, pinned, so that resolving the project never pulls a multi-GB CUDA build here.
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install -q $TORCH_SPEC
"$VENV/bin/python" -m pip install -q -e ".[dev,optimizer]"
touch "$stamp"
echo "setup: ready ($("$VENV/bin/python" -c 'import torch, textual, fsrs; print("torch", torch.__version__)'))"
