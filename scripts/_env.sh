# Sourced by the dev scripts: find or install uv, then build the project venv from the lock file.
# Needs only python3.11+ and access to the package index.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export UV_PYTHON_DOWNLOADS=never   # use the machine's Python; never fetch one
export UV_COMPILE_BYTECODE=1       # compiled bytecode: start-up time matters for a CLI

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then UV=uv; return; fi
  if [ -x "$repo/.tools/bin/uv" ]; then UV="$repo/.tools/bin/uv"; return; fi
  echo "setting up uv in .tools/ ..." >&2
  "${PYTHON:-python3}" -m venv "$repo/.tools"
  "$repo/.tools/bin/python" -m pip install -q --disable-pip-version-check uv
  UV="$repo/.tools/bin/uv"
}

sync_venv() {
  ensure_uv
  "$UV" sync --frozen --quiet ${1:-} --python "${PYTHON:-python3}"
}
