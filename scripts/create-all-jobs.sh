#!/usr/bin/env bash
# Create or update every Cloud Run Job and Scheduler trigger of one environment: a thin wrapper over
# `housejobs create-all-jobs --env ENV ...`. Anything after ENV goes to the command as is, e.g.
#   scripts/create-all-jobs.sh stage --plan
#   scripts/create-all-jobs.sh prod --image us-central1-docker.pkg.dev/cloudact-prod/housejobs/housejobs@sha256:...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_wrapper.sh"

usage() {
  echo "usage: create-all-jobs.sh test|stage|prod [--plan] [--only JOB] [--prune] [--image IMAGE] [--yes]" >&2
  echo "       (see: housejobs create-all-jobs --help)" >&2
  exit 2
}

[ $# -ge 1 ] || usage
env="$1"
shift
check_env "$env"
exec "$(housejobs_bin)" create-all-jobs --env "$env" "$@"
