#!/usr/bin/env bash
# Prepare the local BigQuery emulator (bqemulator, DuckDB-backed) that the BigQuery tests run against.
#
#   bash scripts/dev/setup-emulators.sh        # prints the bqemulator executable path on stdout
#
# Layout (all under the gitignored .emulators/):
#   .emulators/bq/venv/        its own venv: bqemulator pins protobuf below what the Google clients in
#                              the main venv need, and its pytest plugin breaks pytest without testcontainers
#   .emulators/bq/home/        HOME for the emulator process: DuckDB looks for extensions under
#                              $HOME/.duckdb/extensions/<version>/<platform>/ and would otherwise try to
#                              download spatial (bqemulator loads it at startup) from the internet
#   .emulators/bq/.stamp       hash of the pins + python; when it matches, this script is a no-op (~0.3 s)
#
# Needs python3.11+ and access to PyPI. Set PYTHON to choose the interpreter.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root="$repo/.emulators"
bq="$root/bq"
venv="$bq/venv"
home="$bq/home"
stamp="$bq/.stamp"
python="${PYTHON:-python3}"
duckdb_version="1.5.5"

# Every package pinned, transitive ones included: the emulator's SQL translation depends on exact
# sqlglot/duckdb behaviour, so a new upstream release must not change test results under us.
# Regenerate with: uv pip freeze --python .emulators/bq/venv/bin/python
read -r -d '' pins <<'EOF' || true
alembic==1.20.1
annotated-doc==0.0.7
annotated-types==0.8.0
anyio==4.16.0
asgiref==3.13.0
bqemulator==1.4.0
certifi==2026.10.18
cffi==2.1.1
charset-normalizer==3.5.2
click==8.5.1
cryptography==50.0.2
duckdb==1.5.5
duckdb-extension-spatial==1.5.5
fastapi==0.165.0
fastavro==1.13.1
google-api-core==2.44.0
google-auth==2.62.2
google-cloud-bigquery-storage==2.43.0
googleapis-common-protos==1.76.0
grpcio==1.85.1
grpcio-health-checking==1.80.1
grpcio-status==1.85.1
grpcio-tools==1.80.1
h11==0.16.0
httpcore==1.0.9
httptools==0.9.0
httpx==0.28.1
idna==3.20
mako==1.4.3
markupsafe==3.0.4
numpy==2.4.6
opentelemetry-api==1.45.2
opentelemetry-exporter-http-transport==0.66b2
opentelemetry-exporter-otlp==1.45.2
opentelemetry-exporter-otlp-common==0.66b2
opentelemetry-exporter-otlp-proto-common==1.45.2
opentelemetry-exporter-otlp-proto-grpc==1.45.2
opentelemetry-exporter-otlp-proto-http==1.45.2
opentelemetry-instrumentation==0.66b2
opentelemetry-instrumentation-asgi==0.66b2
opentelemetry-instrumentation-fastapi==0.66b2
opentelemetry-instrumentation-grpc==0.66b2
opentelemetry-proto==1.45.2
opentelemetry-sdk==1.45.2
opentelemetry-semantic-conventions==0.66b2
opentelemetry-util-http==0.66b2
orjson==3.13.0
packaging==26.3
prometheus-client==0.26.0
proto-plus==1.29.0
protobuf==6.33.6
pyarrow==26.0.1
pyasn1==0.6.5
pyasn1-modules==0.4.2
pycparser==3.12
pydantic==2.14.3
pydantic-core==2.50.4
pydantic-settings==2.16.3
pyjwt==2.15.1
python-dotenv==1.2.4
pytz==2026.6
pyyaml==6.0.3
requests==2.34.2
setuptools==84.2.1
sqlalchemy==2.1.9
sqlglot==30.11.0
starlette==1.10.0
structlog==26.1.0
typing-extensions==4.16.0
typing-inspection==0.4.5
urllib3==2.8.0
uvicorn==0.54.0
uvloop==0.23.0
watchfiles==1.3.0
websockets==17.4
wrapt==2.5.2
EOF

log() { printf 'setup-emulators: %s\n' "$*" >&2; }

mkdir -p "$bq"
# Two test runs starting at once (xdist workers, parallel CI steps) must not build the venv together.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$bq/.lock"
    flock 9
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    log "need python3.11+ (bqemulator requires it); set PYTHON=/path/to/python3.11"
    exit 1
fi
pyversion="$("$python" -c 'import platform; print(platform.python_version(), platform.machine())')"
want="$(printf '%s\n%s\n%s\n' "$pins" "$pyversion" "$duckdb_version" | cksum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/bqemulator" ]]; then
    echo "$venv/bin/bqemulator"
    exit 0
fi

start=$SECONDS
rm -f "$stamp"

# The project's pinned uv (scripts/dev/uv-requirements.txt), not whatever uv is on PATH.
source "$repo/scripts/dev/_env.sh"
ensure_uv
uv="$UV"

if [[ ! -x "$venv/bin/python" ]]; then
    log "creating $venv"
    "$uv" venv --quiet --python "$python" "$venv"
fi
printf '%s\n' "$pins" >"$bq/requirements.txt"
log "installing bqemulator and its pinned dependencies"
# sync, not install: a venv left by an older pin set ends up exactly at these pins.
"$uv" pip sync --quiet --python "$venv/bin/python" "$bq/requirements.txt"

# DuckDB names the extension directory by its version and platform (linux_amd64, osx_arm64, ...);
# ask the installed duckdb rather than guessing from uname.
platform="$("$venv/bin/python" -c 'import duckdb; print(duckdb.sql("PRAGMA platform").fetchone()[0])')"
src="$("$venv/bin/python" -c 'import duckdb_extension_spatial as m, pathlib; print(pathlib.Path(m.__file__).parent)')"
src="$src/extensions/v$duckdb_version/spatial.duckdb_extension"
dest="$home/.duckdb/extensions/v$duckdb_version/$platform"
if [[ ! -f "$src" ]]; then
    log "spatial extension not found at $src"
    exit 1
fi
mkdir -p "$dest"
# A hard link costs no space (the file is 80 MB); fall back to a copy across filesystems.
# Write under a temporary name so an interrupted run never leaves a truncated extension behind.
ln -f "$src" "$dest/.spatial.tmp" 2>/dev/null || cp -f "$src" "$dest/.spatial.tmp"
mv -f "$dest/.spatial.tmp" "$dest/spatial.duckdb_extension"

"$venv/bin/bqemulator" --version >/dev/null
echo "$want" >"$stamp"
log "ready in $((SECONDS - start)) s"
echo "$venv/bin/bqemulator"
