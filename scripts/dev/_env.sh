# Sourced by the dev scripts in scripts/dev/: find or install uv, then build the project venv from the lock
# file.
# Needs only python3.11+ and access to the package index.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
export UV_PYTHON_DOWNLOADS=never   # use the machine's Python; never fetch one
export UV_COMPILE_BYTECODE=1       # compiled bytecode: start-up time matters for a CLI

# The pinned uv (scripts/dev/uv-requirements.txt, with hashes) in .tools/, whatever uv is or is not on PATH:
# the lock file, the image build and CI must not depend on which uv release a machine happens to have.
UV_PIN="$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' "$repo/scripts/dev/uv-requirements.txt")"
ensure_uv() {
  UV="$repo/.tools/bin/uv"
  if [ -x "$UV" ] && [ "$("$UV" --version 2>/dev/null | cut -d' ' -f2)" = "$UV_PIN" ]; then return; fi
  echo "setting up uv $UV_PIN in .tools/ ..." >&2
  rm -rf "$repo/.tools"
  "${PYTHON:-python3}" -m venv "$repo/.tools"
  # Only uv's own hashed pin: pip's version does not matter for a single hashed requirement.
  "$repo/.tools/bin/python" -m pip install -q --disable-pip-version-check --require-hashes \
    -r "$repo/scripts/dev/uv-requirements.txt"
}

# Extra arguments go to `uv sync` (the quickstart's --no-dev --inexact).
sync_venv() {
  ensure_uv
  "$UV" sync --frozen --quiet "$@" --python "${PYTHON:-python3}"
}
