"""Where a run's calls go, decided once before anything is called, and whether that is prod.

Every command names what it talks to (`uses`): the admin API, the household bot runtime, a Supabase
project, the BigQuery quota table, or the GCP project's Cloud Run and Scheduler. The target of each comes
from the flags, the environment and `jobs/environments.toml`; the run summary names the command's own
(a refused reminder names the bot, a refused create-all-jobs the Cloud Run project).

Prod is a place, not a word: a run needs the prod confirmation when `--env prod` is chosen *or* when any
target it uses is one of prod's (`environments.toml [prod]`: `api_url`, `bot_url`, `supabase_project_ref`,
`quota_table`, `project`), however it was reached (`--api-url`, `HOUSEJOBS_API_URL`, `./.env`, another
env's table pointed at prod's URL). URLs compare by scheme, host, port and path, so
`https://API.cloudact.ai:443/` is `https://api.cloudact.ai`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Use = Literal["admin", "bot", "supabase", "bigquery", "cloud-run"]
# The environments.toml key that identifies prod's side of each use.
PROD_KEYS: dict[Use, str] = {"admin": "api_url", "bot": "bot_url", "supabase": "supabase_project_ref",
                             "bigquery": "quota_table", "cloud-run": "project"}
WHAT: dict[Use, str] = {"admin": "admin API", "bot": "bot runtime", "supabase": "Supabase project",
                        "bigquery": "BigQuery table", "cloud-run": "GCP project"}


@dataclass(frozen=True)
class Target:
    kind: str  # "sandbox" (embedded), "url" (a URL given directly), "env" (an environment's), or the use
    url: str
    label: str


def same_url(a: str, b: str) -> bool:
    return bool(a) and bool(b) and normalize_url(a) == normalize_url(b)


def normalize_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def prod_reasons(identifiers: Mapping[Use, str], prod: Mapping[str, str]) -> list[str]:
    """Why these targets are prod's: one phrase per target that equals prod's, e.g.
    'the admin API https://api.cloudact.ai is prod's'."""
    reasons = []
    for use, value in identifiers.items():
        theirs = prod.get(PROD_KEYS[use], "")
        if not value or not theirs:
            continue
        hit = same_url(value, theirs) if use in ("admin", "bot") else value.strip() == theirs.strip()
        if hit:
            reasons.append(f"the {WHAT[use]} {value} is prod's")
    return reasons
