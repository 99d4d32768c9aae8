#!/usr/bin/env bash
# List the catalog with each job's live state in one environment: a thin wrapper over
# `housejobs list-jobs --env ENV` (in sync / drift / missing, trigger schedule and state, last execution).
#   scripts/list-jobs.sh stage
#   scripts/list-jobs.sh prod --json
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_wrapper.sh"

usage() {
  echo "usage: list-jobs.sh test|stage|prod [--json]" >&2
  echo "       (see: housejobs list-jobs --help)" >&2
  exit 2
}

[ $# -ge 1 ] || usage
env="$1"
shift
check_env "$env"
exec "$(housejobs_bin)" list-jobs --env "$env" "$@"
