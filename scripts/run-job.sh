#!/usr/bin/env bash
# Start a job's Cloud Run execution in one environment and follow it: a thin wrapper over
# `housejobs run JOB --env ENV ...`. Anything after JOB goes to `housejobs run` as is, e.g.
#   scripts/run-job.sh stage org-sync-all --tasks 4 -- --concurrency 64
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_wrapper.sh"

usage() {
  echo "usage: run-job.sh test|stage|prod JOB [RUN OPTIONS] [-- JOB ARGS...]" >&2
  echo "       (see: housejobs run --help)" >&2
  exit 2
}

[ $# -ge 2 ] || usage
env="$1" job="$2"
shift 2
check_env "$env"
exec "$(housejobs_bin)" run "$job" --env "$env" "$@"
