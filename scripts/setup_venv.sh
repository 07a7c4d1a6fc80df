#!/usr/bin/env bash
# Create .venv if missing and install the project into it.
# torch: an installed one is reused; else the CPU build (the pinned version from the configured index, then
# PyTorch's CPU index, then PyPI's);
# GML_TORCH=cuda opts in to PyPI's CUDA build.  Usage: setup_venv.sh [dev]
set -eu
PY=${PY:-python3}; VENV=${VENV:-.venv}; GML_TORCH=${GML_TORCH:-cpu}
[ -x "$VENV/bin/python" ] || { echo "setup: creating $VENV"; "$PY" -m venv "$VENV"; }
VPY="$VENV/bin/python"
PIP="$VPY -m pip --disable-pip-version-check -q"
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
  if [ "$GML_TORCH" = "cuda" ]; then
    echo "setup: installing torch (CUDA build, several GB)"; $PIP install "torch>=2.2"
  else
    echo "setup: installing torch (CPU build)"
    $PIP install "torch==2.13.0" 2>/dev/null \
      || $PIP install "torch>=2.2" --index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
      || { echo "setup: no CPU wheel reachable; falling back to PyPI's torch"; $PIP install "torch>=2.2,<2.14"; }
  fi
fi
EXTRA=""; [ "${1:-}" = "dev" ] && EXTRA="[dev]"
# Skip the pip call when nothing changed since the last install (pyproject.toml is the only input).
STAMP="$VENV/.gml-installed$EXTRA"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "setup: installing gru-memory-lab$EXTRA"
  $PIP install -e ".$EXTRA"
  touch "$STAMP"
fi
