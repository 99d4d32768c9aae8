"""Job implementations. Each job is an async function of a Context returning a JobResult; it never
prints. `IMPLEMENTED` names every job the CLI can run, and a test checks it against jobs/catalog.toml."""

from __future__ import annotations

IMPLEMENTED = (
    "migrate",
    "bootstrap",
    "org-sync-all",
    "quota-reset",
    "stale-cleanup",
    "alerts",
    "quota-monthly",
    "quota-cleanup",
    "reminder",
)
