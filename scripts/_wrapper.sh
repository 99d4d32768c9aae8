# Sourced by the thin wrappers (run-job.sh, create-all-jobs.sh, list-jobs.sh): the environment check and
# which housejobs to run live here once. Callers define usage() before sourcing.
check_env() {
  case "${1:-}" in
    test | stage | prod) ;;
    *) usage ;;
  esac
}

housejobs_bin() {
  local repo
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ -x "$repo/.venv/bin/housejobs" ]; then echo "$repo/.venv/bin/housejobs"; else echo housejobs; fi
}
