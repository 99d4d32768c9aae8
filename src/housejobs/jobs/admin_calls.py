"""The admin API's single-call period jobs as data: the endpoint each calls (docs/api.md), the period it
is keyed by, and the counters its answer carries. Standard library only, so the CLI can name the endpoints
in `--help` without loading the job module (jobs/admin.py) that calls them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodJob:
    name: str
    path: str
    period: str  # "date" or "month": also the body's field name
    counts: tuple[str, ...]
    echoes: bool = False  # the answer names the period it applied to (docs/api.md)


PERIOD_JOBS = {
    "quota-reset": PeriodJob("quota-reset", "/admin/quota/reset-daily", "date", ("orgs_reset",), echoes=True),
    "stale-cleanup": PeriodJob("stale-cleanup", "/admin/quota/cleanup-stale", "date", ("counters_fixed",)),
    "alerts": PeriodJob("alerts", "/admin/alerts/process-all", "date", ("orgs_processed", "alerts_sent")),
    "quota-monthly": PeriodJob("quota-monthly", "/admin/quota/reset-monthly", "month", ("orgs_reset",),
                               echoes=True),
}
