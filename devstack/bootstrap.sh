#!/usr/bin/env bash
# Creates .venv with Python 3.12 (the Lambda runtime) and installs the locked dependencies.
# Idempotent and quick when nothing changed. Used by `make run` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python312() {
  local c
  for c in "${PYTHON312:-}" "$(command -v python3.12 2>/dev/null || true)" \
           "$(pyenv prefix 3.12 2>/dev/null | head -n1)/bin/python3.12" \
           /root/.pyenv/versions/3.12*/bin/python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 \
           /usr/local/bin/python3.12 /usr/bin/python3.12; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  echo "Python 3.12 not found (tried PYTHON312, PATH, pyenv). Install it or set PYTHON312=/path/to/python3.12" >&2
  return 1
}

PY312=$(find_python312)
UV_VERSION=0.13.8
if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  "$PY312" -m venv .tools
  .tools/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
# --frozen: install exactly what uv.lock says; never re-resolve on a user's machine.
.tools/bin/uv sync --frozen --python "$PY312" --quiet
# sam build needs a python3.12 on PATH; write it where the Makefile can find it.
mkdir -p .tools
dirname "$PY312" > .tools/python312-bin
